"""The reviewer's inbox in headless Chromium: a task drawn to them shows without a reload,
their place on the page (focus) is kept, and the count is read out. Captured at 100 %
and 200 % zoom (test-artifacts/)."""

import pytest

from risk.models import ReviewTask
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import case_submitted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_task_drawn_to_the_reviewer_shows_in_the_open_inbox_and_focus_stays(
    browser, live_server, hall
):
    first = case_submitted(hall)
    task = ReviewTask.objects.get(case=first)
    assert task.assignee == hall.zhou  # the only reviewer qualified for level 2
    page = browser_sign_in(browser, live_server, hall.zhou)
    page.goto(f"{live_server.url}/inbox/")
    page.wait_for_timeout(5_500)  # the first poll: the list as it is
    page.evaluate("document.querySelector('#inbox-tasks table').dataset.seen = 'yes'")
    page.focus(f"#open-task-{task.pk}")  # the reviewer is about to open it
    page.wait_for_timeout(5_500)  # an unchanged poll: nothing is swapped, nothing said
    assert page.get_attribute("#inbox-tasks table", "data-seen") == "yes"
    assert page.inner_text("#inbox-status") == ""
    second = case_submitted(hall)
    page.wait_for_selector(f"#inbox-tasks :text('{second.number}')", timeout=15_000)
    assert page.evaluate("document.activeElement.id") == f"open-task-{task.pk}"
    assert page.inner_text("#inbox-status") == "2 项待办任务。"
    page.screenshot(path=ARTIFACTS / "inbox-live.png", full_page=True)
    zoomed = browser.new_page(viewport={"width": 720, "height": 450}, device_scale_factor=2)
    zoomed.context.add_cookies(page.context.cookies())
    zoomed.goto(f"{live_server.url}/inbox/")
    zoomed.screenshot(path=ARTIFACTS / "inbox-live-200.png", full_page=True)

"""The 好差评 loop in headless Chromium: the team lead assigns a bad rating, the window
lead records the callback and the reply, the clerk appeals another bad rating, the
auditor dismisses the appeal with reasons, the citizen rates a case's completion, and
anyone reads the month's public results. Each screen is also captured at 200 % zoom
(test-artifacts/)."""

import pytest
from django.utils import timezone

from counters import services
from ratings import services as rating_services
from ratings.models import Appeal, FollowUp
from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_polls_answered, browser_sign_in
from tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name):
    page.screenshot(path=ARTIFACTS / f"ratings-{name}.png", full_page=True)
    page.evaluate("document.body.style.zoom = '200%'")
    page.screenshot(path=ARTIFACTS / f"ratings-{name}-200.png", full_page=True)
    page.evaluate("document.body.style.zoom = ''")


def _serve(hall, n):
    tickets = []
    for _ in range(n):
        services.window_declare_ready(clerk=hall.li_na)
        tickets.append(services.ticket_issue(item=hall.item))
        services.ticket_finish(clerk=hall.li_na)
    return tickets


def test_the_bad_rating_loop_and_the_public_results_in_a_browser(browser, live_server, hall):
    lead = make_staff(Role.TEAM_LEAD, name="赵队长")
    wang = make_staff(Role.WINDOW_LEAD, name="王窗口")
    qian = make_staff(Role.AUDITOR, name="钱稽核")
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    tickets = _serve(hall, 7)
    for ticket, level in zip(tickets, [5, 5, 5, 4, 3, 2, 1], strict=True):
        rating_services.rating_submit(
            ticket_id=ticket.pk, level=level, reason="" if level >= 3 else "等候时间太长"
        )
    first, second = FollowUp.objects.order_by("pk")

    page = browser_sign_in(browser, live_server, lead)
    page.goto(f"{live_server.url}/lead/follow-ups/")
    card = page.locator(f'[data-testid="follow-up-{first.pk}"]')
    card.locator("select[name=assignee]").select_option(str(wang.pk))
    card.get_by_role("button", name="分派").click()
    page.wait_for_load_state("load")
    _shot(page, "follow-ups-lead")

    page = browser_sign_in(browser, live_server, wang)
    page.goto(f"{live_server.url}/lead/follow-ups/")
    card = page.locator(f'[data-testid="follow-up-{first.pk}"]')
    card.locator("input[name=callback_note]").fill("已电话回访，核实为高峰时段等候过长")
    card.get_by_role("button", name="登记").click()
    page.wait_for_load_state("load")
    card.locator("input[name=reply]").fill("已增开一个窗口并向群众致歉说明")
    card.get_by_role("button", name="登记").click()
    page.wait_for_load_state("load")
    first.refresh_from_db()
    assert (first.status, first.handled_by) == (FollowUp.Status.REPLIED, wang)

    page = browser_sign_in(browser, live_server, hall.li_na)
    page.goto(f"{live_server.url}/counter/my-ratings/")
    page.locator("input[name=statement]").first.fill("该群众未办理业务，评价与服务无关")
    page.get_by_role("button", name="申诉").first.click()
    page.wait_for_load_state("load")
    _shot(page, "my-bad-ratings")
    appeal = Appeal.objects.get()

    page = browser_sign_in(browser, live_server, qian)
    page.goto(f"{live_server.url}/lead/appeals/")
    _shot(page, "appeals")
    page.locator("input[name=reason]").fill("回访核实，差评属实")
    page.get_by_role("button", name="驳回申诉").click()
    page.wait_for_load_state("load")
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_by) == (Appeal.Status.DISMISSED, qian)
    assert second.pk  # the second bad rating stays open for its own handling

    public = browser.new_page(viewport={"width": 1280, "height": 900})
    month = timezone.localdate().strftime("%Y-%m")
    public.goto(f"{live_server.url}/ratings/results/?month={month}")
    assert "71.4%" in public.content()
    _shot(public, "results")
    public.goto(f"{live_server.url}/t/{tickets[-1].public_token}/")
    _shot(public, "ticket-page")


def test_the_pad_keeps_a_citizens_choice_and_reason_while_it_polls(
    browser, live_server, hall, caplog
):
    """The pad that was waiting offers the service just finished, and asks every 3 s
    whether that is still the one to rate: the citizen's choice and words stay put."""
    from devices.decorators import DEVICE_COOKIE
    from ratings.models import Rating
    from tests.factories import registered_device

    _device, credential = registered_device("pad", hall.window)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": DEVICE_COOKIE, "value": credential, "url": live_server.url}])
    pad = context.new_page()
    pad.goto(f"{live_server.url}/rating/")
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    (ticket,) = _serve(hall, 1)
    pad.wait_for_selector(".pad-level.level-2", timeout=10_000)
    pad.click(".pad-level.level-2")
    pad.fill("#reason", "排队太久")
    with caplog.at_level("INFO", logger="langzhong.request"):
        polls = browser_polls_answered(caplog, pad, "ratings:rating_pad_poll", 2)
    assert len(polls) >= 2 and set(polls) <= {204, 304}, polls
    assert pad.is_checked(".pad-level.level-2 input")
    assert pad.input_value("#reason") == "排队太久"
    _shot(pad, "pad-filled-in")
    pad.click("button.kiosk-consult")
    pad.wait_for_selector(".pad-message")
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.level, rating.reason) == (2, "排队太久")

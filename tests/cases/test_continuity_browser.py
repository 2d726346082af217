"""Issue 19, point 5, in headless Chromium: a 容缺 case accepted by one clerk is
completed by another, and a returned case is corrected and resubmitted by a third.
Screenshots (also at 200 % zoom) are kept in test-artifacts/ for a person to look at."""

import io

import pytest
from PIL import Image

from counters import services
from counters.models import Case, Window
from risk.models import ReviewTask
from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import MaterialFactory, make_id_number, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shoot(page, name):
    """The page as the clerk sees it, and at 200 % zoom (half the CSS width)."""
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"] // 2, "height": size["height"]})
    page.screenshot(path=ARTIFACTS / f"{name}-200.png", full_page=True)
    page.set_viewport_size(size)


def _scan() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_three_clerks_carry_one_case_from_promise_to_resubmission(browser, live_server, hall):
    promised = MaterialFactory(item=hall.item, name="解除劳动关系证明", is_key=False)
    number = make_id_number(serial=321)
    zhao = make_staff(Role.CLERK, name="赵敏")
    qian = make_staff(Role.CLERK, name="钱多多")

    # 1. 李娜 accepts the case with the non-key material promised (容缺).
    first = browser_sign_in(browser, live_server, hall.li_na)
    first.click(f"button[name=window][value='{hall.window.pk}']")
    first.click("form[action$='/counter/ready/'] button")
    services.ticket_issue(item=hall.item)
    assert Window.objects.get(pk=hall.window.pk).state == Window.State.SERVING
    first.goto(f"{live_server.url}/counter/?item={hall.item.pk}")
    first.fill("#id_applicant_name", "王大山")
    first.fill("#id_id_number", number)
    first.check(f"#material-{hall.material.pk}")
    first.check("#id_defer_missing")
    _shoot(first, "continuity-1-intake")
    first.click("form[action$='/counter/intake/'] button.btn-primary")
    first.wait_for_selector("[data-testid=case-status]")
    case = Case.objects.get()
    assert case.status == Case.Status.AWAITING_MATERIALS and case.handler == hall.li_na
    first.click("[data-testid=receipt-link]")
    letter = first.inner_text("[data-testid=promised-materials]")
    assert "解除劳动关系证明" in letter and case.deferred_due.isoformat() in letter
    _shoot(first, "continuity-2-commitment-letter")

    # 2. 赵敏, at another window, finds the case by the ID number's ending and records the
    # promised material: the case goes on into review.
    second = browser_sign_in(browser, live_server, zhao)
    second.goto(f"{live_server.url}/counter/cases/")
    second.fill("#case-q", number[-6:])
    second.press("#case-q", "Enter")
    second.wait_for_selector("[data-testid=search-results]")
    assert number not in second.content() and case.applicant_id_masked in second.content()
    _shoot(second, "continuity-3-search")
    second.click(f"a[href='/counter/cases/{case.pk}/']")
    second.check(f"[data-testid=supply-form] input[value='{promised.pk}']")
    second.click("[data-testid=supply-form] button")
    second.wait_for_selector("[data-testid=case-status].status-in_review")
    _shoot(second, "continuity-4-supplied")

    # The drawn reviewer returns it with a reason.
    task = ReviewTask.objects.get(case=case, status=ReviewTask.Status.OPEN)
    assert task.assignee not in (hall.li_na, zhao)
    reviewer = browser_sign_in(browser, live_server, task.assignee)
    reviewer.goto(f"{live_server.url}/inbox/tasks/{task.pk}/")
    reviewer.fill("textarea[name=comment]", "解除劳动关系证明缺少单位盖章")
    reviewer.click("button[value=return]")
    reviewer.wait_for_selector("table.inbox, .empty-hint, main")
    case.refresh_from_db()
    assert case.status == Case.Status.RETURNED

    # 李娜 is told (badge); the page shows the reason.
    first.goto(f"{live_server.url}/counter/")
    assert "1" in first.inner_text("[data-testid=notification-badge]")

    # 3. 钱多多 finds it by name, corrects the phone, adds a new scan and resubmits.
    third = browser_sign_in(browser, live_server, qian)
    third.goto(f"{live_server.url}/counter/cases/?q=王大山")
    third.click(f"a[href='/counter/cases/{case.pk}/']")
    assert "解除劳动关系证明缺少单位盖章" in third.inner_text("[data-testid=return-reasons]")
    third.fill("#id_applicant_phone", "13800138000")
    third.set_input_files(
        f"input[name='scan-{promised.pk}']",
        files=[{"name": "scan.png", "mimeType": "image/png", "buffer": _scan()}],
    )
    _shoot(third, "continuity-5-correction")
    third.click("[data-testid=correction-form] button")
    third.wait_for_selector(".alert-success")
    third.click("form[action$='/resubmit/'] button")
    third.wait_for_selector("[data-testid=case-status].status-in_review")
    case.refresh_from_db()
    assert (case.status, case.review_round, case.applicant_phone) == (
        Case.Status.IN_REVIEW, 2, "13800138000"
    )  # fmt: skip
    history = third.inner_text("[data-testid=case-history]")
    for name in ("李娜", "赵敏", "钱多多"):
        assert name in history
    assert task.assignee.staff_profile.display_name not in third.content()
    _shoot(third, "continuity-6-history")


def test_a_case_finished_on_the_spot_prints_its_result_in_either_language(
    browser, live_server, hall
):
    from cases import services as case_services
    from tests.factories import ItemFactory

    item = ItemFactory(
        risk_level=0, promised_days=0, statutory_days=0, name="个人参保证明查询打印",
        result="当场打印或出具，交申请人",
    )  # fmt: skip
    material = MaterialFactory(item=item, name="居民身份证")
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=item)
    case = case_services.case_accept(
        clerk=hall.li_na, item_id=item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={material.pk},
    )  # fmt: skip
    page = browser_sign_in(browser, live_server, hall.li_na)
    page.goto(f"{live_server.url}/counter/cases/{case.pk}/")
    page.click("[data-testid=receipt-link]")
    assert page.get_attribute("[data-testid=receipt]", "data-paper") == "result"
    assert "出件单" in page.inner_text("h1")
    _shoot(page, "paper-result-zh")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")  # the switcher submits itself
    assert "Record of the document issued" in page.inner_text("h1")
    assert "Opening hours" in page.inner_text("[data-testid=hall-contact]")
    _shoot(page, "paper-result-en")
    page.goto(f"{live_server.url}/guides/{item.code}/")
    assert "12333" in page.inner_text("[data-testid=hall-contact]")
    _shoot(page, "guide-hall-contact-en")

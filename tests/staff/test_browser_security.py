"""The administrators' screens in Debian's chromium: enrolling the authenticator, the
security desk, the audit log. Screenshots go to test-artifacts/."""

import pytest

from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import make_staff, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _password_typed(browser, live_server, username: str, password: str):
    """A new page that has typed a name and password into the sign-in form."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button.btn-primary")
    return page


def test_the_security_and_audit_administrators_work_behind_a_second_factor(browser, live_server):
    security = make_staff(Role.SECURITY_ADMINISTRATOR, name="安全管理员")
    page = _password_typed(browser, live_server, security.username, "Demo-pass-123")
    page.wait_for_selector("[data-testid=totp-qr] svg")
    page.screenshot(path=ARTIFACTS / "two-factor-enrol.png", full_page=True)
    page.fill("#id_code", totp_code(security))
    page.click("form button.btn-primary")
    page.wait_for_selector("text=安全管理")
    assert page.url.endswith("/security/")
    page.screenshot(path=ARTIFACTS / "security-desk.png", full_page=True)

    auditor = make_staff(Role.AUDIT_ADMINISTRATOR, name="审计管理员")
    log = browser_sign_in(browser, live_server, auditor)
    assert log.url.endswith("/audit/log/")
    log.click("button[name=verify]")
    log.wait_for_selector("[data-testid=chain-ok]")
    log.screenshot(path=ARTIFACTS / "audit-log.png", full_page=True)
    log.goto(f"{live_server.url}/security/")
    assert "无权访问" in log.content()


def test_a_reset_approver_enters_the_desks_sign_in_code_before_enrolling_and_choosing(
    browser, live_server
):
    """The system administrator resets an approver's password; whoever has only that
    password sees the sign-in code page, not the enrolment; the security administrator
    gives the code on the desk, the approver types it, enrols, and chooses a password."""
    from security_desk.models import SignInCode
    from staff.services import password_set

    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    approver = make_staff(Role.APPROVER, name="审批人")
    password_set(user=approver, password="Reset-pass-456", set_by=system)
    page = _password_typed(browser, live_server, approver.username, "Reset-pass-456")
    page.wait_for_load_state("load")
    assert "/account/sign-in-code/" in page.url
    assert page.locator("[data-testid=totp-qr]").count() == 0
    page.goto(f"{live_server.url}/account/two-factor/")  # typed in: still the code first
    assert "/account/sign-in-code/" in page.url
    page.screenshot(path=ARTIFACTS / "sign-in-code.png", full_page=True)

    desk = browser_sign_in(browser, live_server, make_staff(Role.SECURITY_ADMINISTRATOR))
    desk.goto(f"{live_server.url}/security/")
    desk.fill("form:has(button[value=sign_in_code]) input[name=username]", approver.username)
    desk.click("button[value=sign_in_code]")
    shown = desk.locator("[data-testid=sign-in-code] .display-6")
    shown.wait_for()
    desk.screenshot(path=ARTIFACTS / "security-desk-sign-in-code.png", full_page=True)
    assert SignInCode.objects.filter(user=approver, status="open").count() == 1

    page.fill("#id_code", shown.inner_text())  # as read out: "1234 5678"
    page.click("form button.btn-primary")
    page.wait_for_selector("[data-testid=totp-qr] svg")
    page.fill("#id_code", totp_code(approver))
    page.click("form button.btn-primary")
    page.wait_for_load_state("load")
    assert "/account/password/" in page.url

"""The administrators' screens in Debian's chromium: enrolling the authenticator, the
security desk, the audit log. Screenshots go to test-artifacts/."""

import pytest

from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import make_staff, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_security_and_audit_administrators_work_behind_a_second_factor(browser, live_server):
    security = make_staff(Role.SECURITY_ADMINISTRATOR, name="安全管理员")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", security.username)
    page.fill("#id_password", "Demo-pass-123")
    page.click("form button.btn-primary")
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

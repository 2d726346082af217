"""The screens this work changed, in Debian's chromium at 100 % and at 200 % zoom (a
1280-pixel screen zoomed to 200 % lays out like a 640-pixel one): the audit log with its
filters, the risk-policy form and the user form. Nothing runs off the side of the page;
screenshots go to test-artifacts/."""

import pytest
from django.contrib.auth.models import Permission

from audit.services import audit_event_record
from risk.models import RiskPolicy
from staff.roles import Role
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ZOOMS = {"100": (1280, 900), "200": (640, 450)}


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _admin(role: Role, *codenames: str):
    user = make_staff(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.mark.parametrize("zoom", ZOOMS)
def test_the_audit_log_with_its_filters_fits_the_screen(browser, live_server, zoom):
    reader = make_staff(Role.AUDIT_ADMINISTRATOR, name="严审计")
    clerk = make_staff(Role.CLERK, name="李娜")
    audit_event_record(
        event_type="record.edited", actor=clerk, obj=clerk,
        data={"reason": "申请人 11010519491231002X 要求更正" * 3},
    )  # fmt: skip
    page = browser_sign_in(browser, live_server, reader, viewport=ZOOMS[zoom])
    page.goto(f"{live_server.url}/audit/log/?person={clerk.username}")
    assert page.locator("[data-testid=event-details]").first.is_visible()
    assert "11010519491231002X" not in page.content()
    assert _fits(page)
    page.screenshot(path=ARTIFACTS / f"audit-log-filtered-{zoom}.png", full_page=True)


@pytest.mark.parametrize("zoom", ZOOMS)
def test_the_risk_policy_form_fits_the_screen(browser, live_server, zoom):
    lead = _admin(Role.TEAM_LEAD, "view_riskpolicy", "change_riskpolicy")
    page = browser_sign_in(browser, live_server, lead, viewport=ZOOMS[zoom])
    policy, _created = RiskPolicy.objects.update_or_create(
        level=3, defaults={"steps": ["review", "approval", "second_approval"]}
    )  # a transactional test starts without the migrations' rows
    page.goto(f"{live_server.url}/admin/risk/riskpolicy/{policy.pk}/change/")
    page.select_option("#id_step_2", "")
    page.fill("#id_change_reason", "试填")
    page.click("input[name=_save]")
    page.wait_for_selector(".errorlist")
    assert "不得跳空" in page.content()
    assert _fits(page)
    page.screenshot(path=ARTIFACTS / f"risk-policy-form-{zoom}.png", full_page=True)


@pytest.mark.parametrize("zoom", ZOOMS)
def test_the_user_form_fits_the_screen_in_chinese(browser, live_server, zoom):
    system = _admin(Role.SYSTEM_ADMINISTRATOR, "add_user", "change_user", "view_user")
    page = browser_sign_in(browser, live_server, system, viewport=ZOOMS[zoom])
    page.goto(f"{live_server.url}/admin/auth/user/add/")
    assert "阆中市社会保险服务大厅 · 系统管理" in page.content() and "残疾人" not in page.content()
    assert _fits(page)
    page.screenshot(path=ARTIFACTS / f"admin-user-add-{zoom}.png", full_page=True)

"""The admin speaks the hall's language: the system's name instead of "Django 管理",
translated headers, readable messages instead of stored codes, and no translation borrowed
from an unrelated meaning of the same English word (pgettext contexts)."""

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone, translation

from counters.models import CaseDocument, Ticket
from risk.models import LeavePeriod, Qualification, ReviewTask
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


def _admin(client, role: Role, *codenames: str):
    user = make_staff(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    sign_in(client, user)
    return user


def test_the_admin_carries_the_systems_name_not_djangos(client):
    _admin(client, Role.SYSTEM_ADMINISTRATOR, "view_user")
    page = client.get("/admin/").content.decode()
    assert "阆中市社会保险服务大厅 · 系统管理" in page and "Django" not in page  # their site
    for english in ("Model name", "Add link", "Change or view list link"):
        assert english not in page


def test_the_admin_sign_in_page_carries_the_systems_name(client):
    page = client.get("/admin/login/").content.decode()
    assert "阆中社保服务大厅 · 系统管理" in page and "Django" not in page


def test_another_agencys_administrator_sees_their_own_site_not_the_home_hall(client):
    from tests.factories import make_agency, make_site

    site = make_site(agency=make_agency(), kind="hall", name="苍溪县社会保险服务大厅")
    user = make_staff(Role.TEAM_LEAD, sites=[site])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    sign_in(client, user)
    page = client.get("/admin/").content.decode()
    assert "苍溪县社会保险服务大厅 · 系统管理" in page
    assert "阆中" not in page


def test_the_user_add_form_makes_an_account_with_a_password_and_says_no_disability(client):
    """No "password sign-in disabled" switch: an account is made with a password, whose
    record names the agency that made it (staff.selectors.accounts_to_onboard)."""
    _admin(client, Role.SYSTEM_ADMINISTRATOR, "add_user", "change_user", "view_user")
    page = client.get("/admin/auth/user/add/").content.decode()
    assert 'name="usable_password"' not in page and 'name="password1"' in page
    assert "残疾人" not in page
    assert "After you’ve created a user" not in page


def test_the_priority_reason_is_still_a_disability_at_the_kiosk():
    with translation.override("zh-hans"):
        assert str(Ticket.PriorityReason.DISABLED.label) == "残疾人"
        assert translation.pgettext("priority", "Disabled") == "残疾人"
        assert translation.gettext("Disabled") == "禁用"  # Django's own meaning


def test_a_review_step_approved_reads_passed_not_final_approval():
    with translation.override("zh-hans"):
        assert str(ReviewTask.Status.APPROVED.label) == "已通过"
        assert translation.gettext("Approved") == "审批通过"  # a case's final state


def test_a_scans_content_type_is_its_file_type_and_the_admin_logs_keep_djangos_word():
    with translation.override("zh-hans"):
        assert str(CaseDocument._meta.get_field("content_type").verbose_name) == "文件类型"
        assert translation.gettext("content type") == "内容类型"


def test_a_qualification_is_named_in_words_in_the_admins_messages(client):
    lead = _admin(client, Role.TEAM_LEAD, "add_qualification", "view_qualification")
    reviewer = make_staff(Role.REVIEWER, name="周建国")
    response = client.post(
        "/admin/risk/qualification/add/",
        {
            "user": reviewer.pk,
            "kind": "review",
            "level": 2,
            "valid_from": f"{timezone.localdate()}",
            "reason": "新任审核人",
            "change_reason": "新任审核人",
        },
        follow=True,
    )
    assert Qualification.objects.filter(user=reviewer, granted_by=lead).exists()
    messages = " ".join(str(message) for message in response.context["messages"])
    assert f"{reviewer.username}：审核资格，最高风险等级 2" in messages
    assert "review ≤2" not in messages


def test_the_axes_sign_in_records_have_chinese_headers(client):
    _admin(client, Role.SECURITY_ADMINISTRATOR, "view_accesslog")
    page = client.get("/admin/axes/accesslog/").content.decode()
    assert "尝试时间" in page and "Attempt Time" not in page


def test_a_leave_date_outside_the_accepted_range_is_refused_in_the_admin(client):
    _admin(client, Role.TEAM_LEAD, "add_leaveperiod", "view_leaveperiod")
    reviewer = make_staff(Role.REVIEWER)
    response = client.post(
        "/admin/risk/leaveperiod/add/",
        {
            "user": reviewer.pk,
            "start": f"{timezone.localdate()}",
            "end": "9999-12-31",
            "reason": "年假",
            "change_reason": "年假",
        },
    )
    assert response.status_code == 200
    assert "2000-01-01" in str(response.context["adminform"].form.errors["end"])
    assert not LeavePeriod.objects.filter(user=reviewer).exists()

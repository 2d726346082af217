"""Every change to who can be drawn asks a reason, checks the right, is recorded with the
pools before and after, and a sudden shrink goes to the auditors."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent, Finding
from risk import services
from risk.models import LeavePeriod
from risk.selectors import pool_sizes
from staff.models import StaffProfile
from staff.roles import Role
from staff.services import account_active_set, role_revoke
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(db):
    return make_staff(Role.TEAM_LEAD, name="组长")


@pytest.fixture
def reviewers(db):
    return [make_staff(Role.REVIEWER, review_level=3) for _ in range(4)]


def _size(role: str, level: int) -> int:
    return next(r["size"] for r in pool_sizes() if (r["role"], r["level"]) == (role, level))


def test_pausing_a_reviewer_is_recorded_with_reason_and_pools(lead, reviewers):
    services.availability_set(
        user=reviewers[0], availability="paused", reason="外出培训", actor=lead
    )
    event = AuditEvent.objects.filter(event_type="pool.changed").latest("id")
    assert (event.actor, event.object_id) == (lead, str(reviewers[0].pk))
    assert event.data["reason"] == "外出培训" and event.data["change"] == "availability"
    before = {(r["role"], r["level"]): r["size"] for r in event.data["before"]}
    after = {(r["role"], r["level"]): r["size"] for r in event.data["after"]}
    assert (before[("review", 3)], after[("review", 3)]) == (4, 3)
    assert AuditEvent.objects.filter(
        event_type="staff.availability_changed", data__to="paused"
    ).exists()


def test_a_change_of_availability_needs_a_reason_and_changes_nothing_without(lead, reviewers):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        services.availability_set(user=reviewers[0], availability="paused", reason=" ", actor=lead)
    assert StaffProfile.objects.get(user=reviewers[0]).availability == "on_duty"
    assert AuditEvent.objects.count() == events


def test_nobody_changes_their_own_availability(reviewers):
    lead_reviewer = make_staff([Role.TEAM_LEAD, Role.REVIEWER], review_level=3)
    with pytest.raises(PermissionDenied):
        services.availability_set(
            user=lead_reviewer, availability="paused", reason="午休", actor=lead_reviewer
        )


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMINISTRATOR, Role.CLERK, Role.REVIEWER])
def test_only_the_team_lead_or_security_administrator_changes_the_pool(role, reviewers):
    someone = make_staff(role)
    with pytest.raises(PermissionDenied):
        services.availability_set(
            user=reviewers[0], availability="paused", reason="x", actor=someone
        )
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.leave_record(
            user=reviewers[0], start=today, end=today, reason="x", recorded_by=someone
        )
    assert _size("review", 3) == 4


def test_pausing_half_the_reviewers_in_a_day_raises_a_finding(lead, reviewers):
    services.availability_set(user=reviewers[0], availability="paused", reason="会议", actor=lead)
    assert not Finding.objects.filter(rule="pool_shrink").exists()
    services.availability_set(user=reviewers[1], availability="paused", reason="会议", actor=lead)
    finding = Finding.objects.get(rule="pool_shrink", evidence__role="review", evidence__level=3)
    assert finding.subject == lead
    assert (finding.evidence["earlier_today"], finding.evidence["now"]) == (4, 2)


def test_leave_recorded_by_the_team_lead_shrinks_the_pool_and_is_recorded(lead, reviewers):
    today = timezone.localdate()
    services.leave_record(
        user=reviewers[0], start=today, end=today + datetime.timedelta(days=2),
        reason="年休假", recorded_by=lead,
    )  # fmt: skip
    assert _size("review", 3) == 3
    event = AuditEvent.objects.filter(event_type="pool.changed").latest("id")
    assert event.data["change"] == "leave_recorded" and event.actor == lead


def test_an_admin_edit_of_leave_goes_through_the_pool_service(lead, reviewers):
    today = timezone.localdate()
    period = services.leave_record(
        user=reviewers[0], start=today, end=today, reason="病假", recorded_by=lead
    )
    period.end = today + datetime.timedelta(days=5)
    services.eligibility_record_save(instance=period, reason="延长病假", actor=lead)
    assert LeavePeriod.objects.get(pk=period.pk).end == period.end
    assert AuditEvent.objects.filter(
        event_type="pool.changed", data__change="leaveperiod_edited", actor=lead
    ).exists()


def test_the_admin_cannot_change_availability(client, reviewers):
    admin = make_staff(Role.SYSTEM_ADMINISTRATOR)
    sign_in(client, admin)
    profile = StaffProfile.objects.get(user=reviewers[0])
    url = reverse("admin:staff_staffprofile_change", args=[profile.pk])
    client.post(url, {
        "user": reviewers[0].pk, "display_name": profile.display_name,
        "employee_number": profile.employee_number, "availability": "paused",
    })  # fmt: skip
    assert StaffProfile.objects.get(pk=profile.pk).availability == "on_duty"


def test_the_team_lead_pauses_a_reviewer_on_the_pool_page(client, lead, reviewers):
    sign_in(client, lead)
    page = client.get(reverse("risk:pool")).content.decode()
    assert 'data-testid="pool-review-3">4<' in page
    response = client.post(
        reverse("risk:pool_availability", args=[reviewers[0].pk]),
        {"availability": "paused", "reason": "临时外出"},
        follow=True,
    )
    assert 'data-testid="pool-review-3">3<' in response.content.decode()
    assert StaffProfile.objects.get(user=reviewers[0]).availability == "paused"


def test_the_pool_page_refuses_a_change_without_a_reason(client, lead, reviewers):
    sign_in(client, lead)
    client.post(
        reverse("risk:pool_availability", args=[reviewers[0].pk]), {"availability": "paused"}
    )
    assert StaffProfile.objects.get(user=reviewers[0]).availability == "on_duty"


def test_the_live_hall_shows_the_pool_sizes(client, lead, reviewers):
    sign_in(client, lead)
    page = client.get(reverse("evaluation:dashboard_live")).content.decode()
    assert 'data-testid="pool-review-1">4<' in page
    assert 'data-testid="pool-approval-1">0<' in page


# --- Changes made in staff (which cannot import risk) reach the pool record ------------------


def test_deactivating_half_the_reviewers_in_a_day_raises_a_pool_shrink_finding(reviewers):
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    account_active_set(user=reviewers[0], active=False, changed_by=system)
    assert not Finding.objects.filter(rule="pool_shrink").exists()
    account_active_set(user=reviewers[1], active=False, changed_by=system)
    finding = Finding.objects.get(rule="pool_shrink", evidence__role="review", evidence__level=3)
    assert finding.subject == system
    assert (finding.evidence["earlier_today"], finding.evidence["now"]) == (4, 2)


def test_deactivating_a_reviewer_is_a_pool_change_with_the_pools_before_and_after(reviewers):
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    account_active_set(user=reviewers[0], active=False, changed_by=system)
    event = AuditEvent.objects.filter(event_type="pool.changed").latest("id")
    assert (event.actor, event.object_id) == (system, str(reviewers[0].pk))
    assert event.data["change"] == "account_deactivated"
    before = {(r["role"], r["level"]): r["size"] for r in event.data["before"]}
    after = {(r["role"], r["level"]): r["size"] for r in event.data["after"]}
    assert (before[("review", 3)], after[("review", 3)]) == (4, 3)


def test_revoking_half_the_reviewer_roles_in_a_day_raises_a_pool_shrink_finding(reviewers):
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    role_revoke(user=reviewers[0], role=Role.REVIEWER, revoked_by=security)
    event = AuditEvent.objects.filter(event_type="pool.changed").latest("id")
    assert (event.actor, event.data["change"]) == (security, "role_revoked:reviewer")
    assert not Finding.objects.filter(rule="pool_shrink").exists()
    role_revoke(user=reviewers[1], role=Role.REVIEWER, revoked_by=security)
    finding = Finding.objects.get(rule="pool_shrink", evidence__role="review", evidence__level=3)
    assert finding.subject == security


def test_a_reviewer_role_removed_in_code_is_a_pool_change_too(reviewers):
    reviewers[0].groups.clear()
    event = AuditEvent.objects.filter(event_type="pool.changed").latest("id")
    assert event.object_id == str(reviewers[0].pk)
    assert event.data["change"] == "role_revoked:reviewer"
    assert _size("review", 3) == 3


def test_deactivating_a_clerk_is_no_pool_change(reviewers):
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    changes = AuditEvent.objects.filter(event_type="pool.changed").count()
    account_active_set(user=clerk, active=False, changed_by=system)
    assert AuditEvent.objects.filter(event_type="pool.changed").count() == changes

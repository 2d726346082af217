"""Issue 17: review and approval draws take their pool from the scope the risk policy
names (the case's own site, its agency, or its agency's hall only: 前台受理、后台审核),
qualifications may be limited to a site, and no case is ever drawn to a person of
another agency, which has its own daily seeds."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from cases import services as case_services
from counters import services as counter_services
from counters.models import Case, Ticket
from devices.models import HallDevice
from draws import services as draw_services
from draws.choice import draw_choice_index, draw_member_pseudonym, draw_message
from draws.models import DailySeed, Draw
from langzhong_si.identity import personal_data_decrypt
from risk import services
from risk.models import DEFAULT_SCOPE, DrawScope, ItemRiskPolicy, ReviewTask, RiskPolicy
from risk.selectors import review_pool
from sites.defaults import home_agency_id
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    MaterialFactory,
    WindowFactory,
    make_id_number,
    make_staff,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def county(two_agencies):
    """The home agency: its county hall and a township station (乡镇社保所).
    - clerk: works at the station, accepts the case there.
    - hall_reviewers: two reviewers of the county hall, qualified to level 3.
    - station_reviewer: a reviewer of the station, qualified to level 3.
    - approver: an approver of the county hall.
    - stranger: a reviewer of another agency's hall, qualified to level 3.
    """
    from types import SimpleNamespace

    station, other_hall = two_agencies.station, two_agencies.hall_b
    item = ItemFactory(risk_level=2)
    return SimpleNamespace(
        hall=two_agencies.hall,
        station=station,
        other=two_agencies.agency_b,
        other_hall=other_hall,
        item=item,
        material=MaterialFactory(item=item, name="居民身份证"),
        clerk=make_staff(Role.CLERK, sites=[station], name="站点受理员"),
        hall_reviewers=[
            make_staff(Role.REVIEWER, review_level=3, name=f"大厅审核员{n}") for n in (1, 2)
        ],
        station_reviewer=make_staff(
            Role.REVIEWER, review_level=3, sites=[station], name="站点审核员"
        ),
        approver=make_staff(Role.APPROVER, approval_level=3, name="大厅审批员"),
        stranger=make_staff(Role.REVIEWER, review_level=3, sites=[other_hall], name="外局审核员"),
    )


def _accepted_at(site, clerk, item, material, capture) -> Case:
    """`clerk` serves a ticket from `site`'s kiosk at a window of `site` and accepts a
    complete case for it; its review step awaits its draw."""
    window = WindowFactory(site=site)
    kiosk = HallDevice.objects.create(kind="kiosk", name=f"{site.code} kiosk", site=site)
    counter_services.window_sign_on(clerk=clerk, window_id=window.pk)
    counter_services.window_declare_ready(clerk=clerk)
    counter_services.ticket_issue(item=item, kiosk=kiosk)
    with capture(execute=False):
        case = case_services.case_accept(
            clerk=clerk,
            item_id=item.pk,
            applicant_name="王大山",
            id_number=make_id_number(),
            received_material_ids={material.pk},
        )
    if case.site_id != site.pk:
        # Until tickets and intake record the kiosk's site (counters and cases, issue 17
        # point 1), the ticket and case are put at the site here, as they will be.
        with bulk_writes_allowed():
            Ticket.objects.filter(pk=case.ticket_id).update(site=site, agency=site.agency_id)
            Case.objects.filter(pk=case.pk).update(site=site, agency=site.agency_id)
            ReviewTask.objects.filter(case=case).update(agency=site.agency_id)
        case.refresh_from_db()
    return case


def _station_case(county, capture) -> Case:
    return _accepted_at(county.station, county.clerk, county.item, county.material, capture)


def _scope_set(level: int, *, review: str, approval: str | None = None) -> None:
    policy = RiskPolicy.objects.get(level=level)
    policy.review_scope = review
    policy.approval_scope = approval or review
    services.risk_policy_save(policy=policy, reason="test set-up", actor=None)


def _ids(people) -> set[int]:
    return {person.pk for person in people}


# --- The done-when: a station's case is reviewed in the county hall, blind -----------------


def test_a_station_clerks_level_two_case_is_drawn_to_a_county_hall_reviewer_blind(
    county, client, django_capture_on_commit_callbacks
):
    case = _station_case(county, django_capture_on_commit_callbacks)
    assert (case.site_id, case.risk_level) == (county.station.pk, 2)
    task = services.review_task_draw(task_id=case.tasks.get().pk)

    draw = task.draw
    assert task.status == ReviewTask.Status.OPEN
    assert draw.scope == DrawScope.HALL
    assert set(draw.pool) == _ids(county.hall_reviewers), "the county hall's reviewers only"
    assert county.station_reviewer.pk not in draw.pool
    assert county.stranger.pk not in draw.pool
    assert task.assignee_id in _ids(county.hall_reviewers)
    event = AuditEvent.objects.get(event_type="draw.made", object_id=str(draw.pk))
    assert event.data["scope"] == "hall" and event.agency_id == home_agency_id()

    # Blind as before: the clerk's case page never names the reviewer...
    sign_in(client, county.clerk)
    page = client.get(f"/counter/cases/{case.pk}/")
    assert page.status_code == 200
    reviewer = task.assignee
    for clue in (reviewer.username, reviewer.staff_profile.display_name,
                 reviewer.staff_profile.employee_number):  # fmt: skip
        assert clue not in page.content.decode()
    # ...and the reviewer's task page never names the clerk.
    sign_in(client, reviewer)
    page = client.get(f"/inbox/tasks/{task.pk}/")
    assert page.status_code == 200
    for clue in (county.clerk.username, county.clerk.staff_profile.display_name,
                 county.clerk.staff_profile.employee_number):  # fmt: skip
        assert clue not in page.content.decode()


def test_the_approval_step_is_drawn_in_the_hall_too(county, django_capture_on_commit_callbacks):
    from inbox.services import review_task_decide

    station_approver = make_staff(Role.APPROVER, approval_level=3, sites=[county.station])
    case = _station_case(county, django_capture_on_commit_callbacks)
    review = services.review_task_draw(task_id=case.tasks.get().pk)
    with django_capture_on_commit_callbacks(execute=False):
        review_task_decide(task_id=review.pk, actor=review.assignee, decision="approve")
    approval = services.review_task_draw(task_id=case.tasks.get(step=2).pk)
    assert approval.draw.scope == DrawScope.HALL
    assert approval.draw.pool == [county.approver.pk]
    assert station_approver.pk not in approval.draw.pool


# --- The other scopes ------------------------------------------------------------------


def test_with_scope_site_only_the_cases_own_site_is_drawn_from(
    county, django_capture_on_commit_callbacks
):
    _scope_set(2, review=DrawScope.SITE)
    case = _station_case(county, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    assert task.draw.scope == DrawScope.SITE
    assert task.draw.pool == [county.station_reviewer.pk]


def test_with_scope_agency_every_site_of_the_agency_is_drawn_from(
    county, django_capture_on_commit_callbacks
):
    _scope_set(2, review=DrawScope.AGENCY)
    case = _station_case(county, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    assert task.draw.scope == DrawScope.AGENCY
    assert set(task.draw.pool) == _ids([*county.hall_reviewers, county.station_reviewer])


def test_a_scope_with_nobody_in_it_waits_and_records_the_scope(
    county, django_capture_on_commit_callbacks
):
    _scope_set(2, review=DrawScope.SITE)
    services.availability_set(
        user=county.station_reviewer, availability="paused", reason="培训", actor=None
    )
    case = _station_case(county, django_capture_on_commit_callbacks)
    task = case.tasks.get()  # drawn at the intake
    assert task.status == ReviewTask.Status.AWAITING_DRAW, "never falls back to the hall"
    event = AuditEvent.objects.get(event_type="draw.pool_empty", object_id=str(task.pk))
    assert event.data["scope"] == "site"


@pytest.mark.parametrize("scope", DrawScope.values)
def test_another_agencys_qualified_reviewer_is_never_in_the_pool(
    county, scope, django_capture_on_commit_callbacks
):
    _scope_set(2, review=scope)
    # Even working at a site of both agencies' would not do: one agency per person is
    # the staff rule, so the stranger stays at their own hall.
    case = _station_case(county, django_capture_on_commit_callbacks)
    pool, excluded = review_pool(task=case.tasks.get())
    assert county.stranger.pk not in pool
    assert county.stranger.pk not in {row["user"] for row in excluded}


def test_the_default_policies_draw_levels_two_and_three_from_the_hall_and_one_from_the_agency():
    scopes = {
        policy.level: (policy.review_scope, policy.approval_scope)
        for policy in RiskPolicy.objects.all()
    }
    assert scopes[1] == ("agency", "agency")
    assert scopes[2] == scopes[3] == ("hall", "hall")


def test_a_policys_change_of_scope_is_an_audit_event(county):
    lead = make_staff(Role.TEAM_LEAD)
    policy = RiskPolicy.objects.get(level=2)
    policy.review_scope = DrawScope.AGENCY
    services.risk_policy_save(policy=policy, reason="站点审核员已培训", actor=lead)
    event = AuditEvent.objects.get(event_type="risk_policy.scope_changed")
    assert event.actor == lead
    assert event.data["before"] == {"review_scope": "hall", "approval_scope": "hall"}
    assert event.data["after"] == {"review_scope": "agency", "approval_scope": "hall"}
    assert event.data["reason"] == "站点审核员已培训"


def test_an_edit_that_keeps_the_scopes_records_no_scope_change():
    policy = RiskPolicy.objects.get(level=2)
    policy.step_hours = 6
    services.risk_policy_save(policy=policy, reason="时限调整", actor=None)
    assert not AuditEvent.objects.filter(event_type="risk_policy.scope_changed").exists()


# --- Qualifications limited to a site ---------------------------------------------------


def _roaming_reviewer(county):
    """Works at the hall and the station; qualified to level 3 at the station only."""
    lead = make_staff(Role.TEAM_LEAD)
    person = make_staff(Role.REVIEWER, sites=[county.hall, county.station], name="两地审核员")
    services.qualification_grant(
        user=person, kind="review", level=3, reason="站点授权", granted_by=lead,
        site=county.station,
    )  # fmt: skip
    return person


def test_a_qualification_limited_to_a_site_counts_only_where_that_site_draws(
    county, django_capture_on_commit_callbacks
):
    person = _roaming_reviewer(county)
    case = _station_case(county, django_capture_on_commit_callbacks)
    pool, excluded = review_pool(task=case.tasks.get())  # scope hall: drawn as hall staff
    assert person.pk not in pool
    assert {"user": person.pk, "reason": "not_qualified"} in excluded
    _scope_set(2, review=DrawScope.SITE)
    pool, _excluded = review_pool(task=case.tasks.get())  # the station's own staff
    assert person.pk in pool


def test_granting_a_qualification_limited_to_a_site_is_recorded_with_the_site(county):
    person = _roaming_reviewer(county)
    event = AuditEvent.objects.get(event_type="qualification.granted", data__user=person.pk)
    assert event.data["site"] == county.station.pk
    assert event.agency_id == home_agency_id()


def test_a_qualification_cannot_be_limited_to_another_agencys_site(county):
    lead = make_staff(Role.TEAM_LEAD)
    person = make_staff(Role.REVIEWER)
    with pytest.raises(ValidationError) as refused:
        services.qualification_grant(
            user=person, kind="review", level=2, reason="越权", granted_by=lead,
            site=county.other_hall,
        )  # fmt: skip
    assert refused.value.code == "site_agency"
    assert not person.qualifications.exists()


# --- Each agency its own seeds --------------------------------------------------------


def test_each_agency_has_its_own_seed_of_the_day(county):
    today = timezone.localdate()
    draw_services.daily_seeds_rotate()  # beat, before the halls open
    seeds = DailySeed.objects.filter(day=today)
    assert set(seeds.values_list("agency_id", flat=True)) == {home_agency_id(), county.other.pk}
    assert len(set(seeds.values_list("commitment", flat=True))) == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        DailySeed.objects.create(agency=county.other, day=today, seed="x", commitment="y")


def test_another_agencys_draw_uses_its_own_seed(county, django_capture_on_commit_callbacks):
    other_clerk = make_staff(Role.CLERK, sites=[county.other_hall])
    reviewers = [make_staff(Role.REVIEWER, review_level=3, sites=[county.other_hall])
                 for _ in range(3)]  # fmt: skip
    case = _accepted_at(
        county.other_hall, other_clerk, county.item, county.material,
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    draw = task.draw
    assert draw.agency_id == county.other.pk and draw.scope == DrawScope.HALL
    assert set(draw.pool) == _ids([*reviewers, county.stranger])
    seed = DailySeed.objects.get(agency=county.other, day=draw.day)
    key = draw_services.draw_pseudonym_key()
    members = [draw_member_pseudonym(key=key, day=draw.day, user_id=pk) for pk in draw.pool]
    message = draw_message(
        day=draw.day, number=draw.number, purpose=draw.purpose, subject=draw.subject,
        pool=members,
    )  # fmt: skip
    index = draw_choice_index(
        seed_hex=personal_data_decrypt(seed.seed), message=message, pool_size=len(draw.pool)
    )
    assert index == draw.chosen_index


def test_a_ticket_draw_uses_the_seed_of_its_clerks_agency(county):
    draw_services.daily_seeds_rotate()
    clerk = make_staff(Role.CLERK, sites=[county.other_hall])
    with transaction.atomic():
        draw = draw_services.draw_record(
            purpose=Draw.Purpose.TICKET_DISPATCH, subject="ticket:9001", pool=[clerk.pk],
            excluded=[],
        )  # fmt: skip
    assert draw.agency_id == county.other.pk


def test_a_days_draws_verify_per_agency_against_each_agencys_seed(
    county, django_capture_on_commit_callbacks
):
    import datetime
    from unittest import mock

    from inspection.draws import draws_verify
    from risk.models import Qualification

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with bulk_writes_allowed():
        Qualification.objects.update(valid_from=yesterday)
    other_clerk = make_staff(Role.CLERK, sites=[county.other_hall])
    with mock.patch("django.utils.timezone.localdate", return_value=yesterday):
        with django_capture_on_commit_callbacks(execute=True):
            draw_services.daily_seed_commit(day=yesterday)
            draw_services.daily_seed_commit(day=yesterday, agency_id=county.other.pk)
        for site, clerk in ((county.station, county.clerk), (county.other_hall, other_clerk)):
            case = _accepted_at(
                site, clerk, county.item, county.material, django_capture_on_commit_callbacks
            )
            services.review_task_draw(task_id=case.tasks.get().pk)
    with django_capture_on_commit_callbacks(execute=True):
        draw_services.daily_seeds_rotate()
    assert draws_verify(day=yesterday) == []
    assert draws_verify(day=yesterday, agency_id=county.other.pk) == []
    assert draw_services.draw_commitment_exported(day=yesterday, agency_id=county.other.pk)
    call_command("verify_draws", yesterday.isoformat(), "--agency", county.other.code)


@pytest.mark.parametrize("governing", ["item override", "level policy", "default"])
def test_the_pool_query_and_the_recorded_scope_read_the_same_policy(
    county, django_capture_on_commit_callbacks, governing
):
    """The pool's SQL (risk.selectors._pool_sql) and the scope recorded when nobody is in
    it (draw_scope_for) follow one precedence: the item's override, its level's policy,
    the default."""
    from risk.selectors import draw_scope_for, review_pool_scoped

    _scope_set(2, review=DrawScope.AGENCY)
    if governing == "item override":
        ItemRiskPolicy.objects.create(
            item=county.item, steps=["review", "approval"], review_scope=DrawScope.SITE,
            approval_scope=DrawScope.SITE,
        )  # fmt: skip
    elif governing == "default":
        with bulk_writes_allowed():
            RiskPolicy.objects.filter(level=2).delete()
    case = _station_case(county, django_capture_on_commit_callbacks)
    task = case.tasks.get()
    pool, _excluded, scope = review_pool_scoped(task=task)
    assert pool, "read from the pool's own rows, not the fallback"
    expected = {"item override": DrawScope.SITE, "level policy": DrawScope.AGENCY}.get(
        governing, DEFAULT_SCOPE[2]
    )
    assert scope == draw_scope_for(case=case, role=task.role) == expected

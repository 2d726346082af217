import datetime
from unittest import mock

import pytest
from django.conf import settings as settings_module
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.bulk import bulk_writes_allowed
from cases import services as case_services
from counters import services as counter_services
from counters.models import Case
from draws import services as draw_services
from draws.choice import draw_choice_index, draw_member_pseudonym, draw_message, seed_commitment
from draws.models import DailySeed, Draw
from inbox import services as inbox_services
from langzhong_si.identity import id_number_digest, personal_data_encrypt
from risk import services
from risk.models import Qualification, ReviewTask
from staff.models import StaffProfile
from staff.roles import Role
from tests.factories import as_if_awaiting_its_draw, make_id_number, make_staff

pytestmark = pytest.mark.django_db

FIXED_SEED = "11" * 32


@pytest.fixture
def fixed_seed():
    """Inject a known seed for today instead of the OS's randomness."""
    return DailySeed.objects.create(
        day=timezone.localdate(),
        seed=personal_data_encrypt(FIXED_SEED),
        commitment=seed_commitment(FIXED_SEED),
    )


def _submitted_case(hall, capture, *, id_number=None):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    with capture(execute=False):
        return case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=id_number or make_id_number(),
            received_material_ids={hall.material.pk},
        )


def test_it_excludes_the_handler_from_the_review_draw(hall, django_capture_on_commit_callbacks):
    # Give the clerk the reviewer role with full qualification: still never drawn.
    from staff.services import role_grant

    role_grant(user=hall.li_na, role=Role.REVIEWER)
    services.qualification_grant(user=hall.li_na, kind="review", level=3, reason="test")
    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    assert task.draw.pool == [hall.zhou.pk]
    assert {"user": hall.li_na.pk, "reason": "handling_clerk"} in task.draw.excluded
    assert {"user": hall.sun.pk, "reason": "not_qualified"} in task.draw.excluded


def test_it_excludes_the_applicant_who_is_a_staff_member(hall, django_capture_on_commit_callbacks):
    number = make_id_number()
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        StaffProfile.objects.filter(user=hall.zhou).update(
            id_number_digest=id_number_digest(number)
        )
    case = _submitted_case(hall, django_capture_on_commit_callbacks, id_number=number)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    assert task.status == ReviewTask.Status.AWAITING_DRAW, "nobody else is qualified"
    assert case.tasks.get().assignee is None


def test_an_empty_pool_waits_and_never_falls_back(hall, django_capture_on_commit_callbacks):
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        StaffProfile.objects.filter(user=hall.zhou).update(availability="on_leave")
    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    assert task.status == ReviewTask.Status.AWAITING_DRAW
    assert not Draw.objects.filter(purpose="review").exists()
    # Once someone becomes eligible the retry draws them.
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        StaffProfile.objects.filter(user=hall.zhou).update(availability="on_duty")
    task = services.review_task_draw(task_id=task.pk)
    assert task.assignee == hall.zhou


def test_drawing_the_same_task_twice_has_one_effect(hall, django_capture_on_commit_callbacks):
    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task_id = case.tasks.get().pk
    as_if_awaiting_its_draw(case)  # the intake drew it once already
    services.review_task_draw(task_id=task_id)
    services.review_task_draw(task_id=task_id)
    assert Draw.objects.filter(subject=f"review-task:{task_id}").count() == 2


def test_every_person_in_one_chain_is_different(hall, django_capture_on_commit_callbacks):
    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    review = services.review_task_draw(task_id=case.tasks.get().pk)
    with django_capture_on_commit_callbacks(execute=True):
        inbox_services.review_task_decide(
            task_id=review.pk, actor=review.assignee, decision="approve"
        )
    approval = case.tasks.get(step=2)
    assert approval.assignee not in (None, hall.li_na, review.assignee)


def test_a_case_cannot_be_approved_without_every_step(hall, django_capture_on_commit_callbacks):
    from cases.transitions import CaseStateError, case_transition

    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    with pytest.raises(CaseStateError):
        case_transition(case=case, to=Case.Status.APPROVED, actor=hall.zhou)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW


def test_only_the_drawn_person_may_decide_not_even_a_superuser(
    hall, django_capture_on_commit_callbacks, django_user_model
):
    from django.core.exceptions import PermissionDenied

    root = django_user_model.objects.create_superuser("root", password="x")
    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    for intruder in (root, hall.li_na, hall.ma):
        with pytest.raises(PermissionDenied):
            inbox_services.review_task_decide(task_id=task.pk, actor=intruder, decision="approve")
    task.refresh_from_db()
    assert task.status == ReviewTask.Status.OPEN


def test_a_second_decision_on_the_same_task_is_refused(hall, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    with django_capture_on_commit_callbacks(execute=False):
        inbox_services.review_task_decide(task_id=task.pk, actor=hall.zhou, decision="approve")
    with pytest.raises(ValidationError):
        inbox_services.review_task_decide(
            task_id=task.pk, actor=hall.zhou, decision="reject", comment="x"
        )
    assert case.tasks.filter(step=2).count() == 1


def test_returning_needs_a_reason(hall, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    with pytest.raises(ValidationError):
        inbox_services.review_task_decide(task_id=task.pk, actor=hall.zhou, decision="return")


def test_a_draw_recomputes_from_the_revealed_seed(
    hall, fixed_seed, django_capture_on_commit_callbacks
):
    case = _submitted_case(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    draw = task.draw
    key = settings_module.PERSONAL_DATA_HASH_KEY.encode()
    members = [draw_member_pseudonym(key=key, day=draw.day, user_id=user) for user in draw.pool]
    assert members == sorted(members), "scheme 2: the pool in the order of its pseudonyms"
    message = draw_message(
        day=draw.day, number=draw.number, purpose=draw.purpose, subject=draw.subject, pool=members
    )
    assert (
        draw.pool[draw_choice_index(seed_hex=FIXED_SEED, message=message, pool_size=len(draw.pool))]
        == draw.chosen_id
    )


def test_verify_draws_catches_a_draw_altered_in_the_database(
    hall, django_capture_on_commit_callbacks
):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.update(valid_from=yesterday)
    with mock.patch("django.utils.timezone.localdate", return_value=yesterday):
        # Committed before the day's first draw, as the middleware or beat would.
        draw_services.daily_seed_commit(day=yesterday)
        case = _submitted_case(hall, django_capture_on_commit_callbacks)
        services.review_task_draw(task_id=case.tasks.get().pk)
    draw_services.daily_seeds_rotate()  # reveals every closed day
    call_command("verify_draws", yesterday.isoformat())

    # Someone rewrites who was chosen, as a database administrator could.
    assert Draw.objects.filter(purpose="review").update(chosen=hall.ma) == 1
    with pytest.raises(CommandError, match="do not verify"):
        call_command("verify_draws", yesterday.isoformat())


def test_verify_draws_refuses_a_day_whose_seed_is_still_secret(
    hall, django_capture_on_commit_callbacks
):
    _submitted_case(hall, django_capture_on_commit_callbacks)
    with translation.override("en"), pytest.raises(CommandError, match="not been revealed"):
        call_command("verify_draws", timezone.localdate().isoformat())


def test_the_seed_commitment_is_logged_before_the_first_draw(
    hall, django_capture_on_commit_callbacks
):
    from audit.models import AuditEvent

    _submitted_case(hall, django_capture_on_commit_callbacks)
    events = list(AuditEvent.objects.order_by("id").values_list("event_type", flat=True))
    assert events.index("seed.committed") < events.index("draw.made")


def test_the_choice_is_uniform_over_equally_eligible_people():
    """Chi-square over 10,000 draws among 8 people: the statistic stays below the
    0.1% critical value for 7 degrees of freedom (24.32)."""
    pool = list(range(1, 9))
    counts = dict.fromkeys(pool, 0)
    seed = "a7" * 32  # a fixed, injected seed: the test is deterministic
    day = datetime.date(2026, 11, 27)
    for number in range(1, 10_001):
        message = draw_message(day=day, number=number, purpose="review", subject="s", pool=pool)
        counts[pool[draw_choice_index(seed_hex=seed, message=message, pool_size=8)]] += 1
    expected = 10_000 / 8
    chi_square = sum((observed - expected) ** 2 / expected for observed in counts.values())
    assert chi_square < 24.32, counts


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(
        st.tuples(
            st.integers(0, 3),  # review level
            st.sampled_from(["on_duty", "paused", "on_leave"]),
        ),
        min_size=1,
        max_size=6,
    ),
    risk_level=st.integers(1, 3),
)
def test_a_draw_never_returns_an_ineligible_person(hall, people, risk_level):
    from risk.selectors import qualification_levels, review_pool

    case = Case.objects.create(
        number=f"P{Case.objects.count():09d}",
        item=hall.item,
        guide_snapshot={},
        risk_level=risk_level,
        applicant_name="x",
        applicant_id_encrypted="",
        applicant_id_digest="d",
        applicant_id_masked="",
        handler=hall.li_na,
        checklist=[],
        status=Case.Status.IN_REVIEW,
        review_round=1,
        current_step=1,
        accepted_at=timezone.now(),
        due_date=timezone.localdate(),
    )
    staff = [make_staff(Role.REVIEWER, review_level=level) for level, _ in people]
    for user, (_, availability) in zip(staff, people, strict=True):
        # Crafting the scenario directly in the database, past the services.
        with bulk_writes_allowed():
            StaffProfile.objects.filter(user=user).update(availability=availability)
    task = ReviewTask.objects.create(case=case, review_round=1, step=1, role="review")
    pool, excluded = review_pool(task=task)
    levels = qualification_levels(kind="review", on=timezone.localdate())
    for user_id in pool:
        profile = StaffProfile.objects.get(user_id=user_id)
        assert levels.get(user_id, 0) >= risk_level
        assert profile.availability == "on_duty"
        assert user_id != hall.li_na.pk
    assert set(pool).isdisjoint({row["user"] for row in excluded})

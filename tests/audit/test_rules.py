"""Continuous audit: each rule fires on a crafted case and stays silent on a clean one;
sampling follows its rates; auditors record results; findings are never deleted."""

import datetime
import math

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent, Finding
from counters.models import Case, Ticket
from draws.choice import sample_fraction
from inspection.rules import case_audit, nightly_audit
from inspection.services import finding_inspect
from langzhong_si.identity import id_number_digest
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_sampling(settings):
    settings.AUDIT_SAMPLE_RATES = {0: 0, 1: 0, 2: 0, 3: 0}


def _case(
    hall, *, status="approved", received=True, days_late=0, digest=None, accepted=None, **extra
):
    now = timezone.now()
    accepted = accepted or now
    return Case.objects.create(
        number=f"T{Case.objects.count():011d}",
        item=hall.item,
        guide_snapshot={},
        risk_level=2,
        applicant_name="王",
        applicant_id_encrypted="",
        applicant_id_digest=digest or id_number_digest(make_id_number()),
        applicant_id_masked="",
        handler=hall.li_na,
        checklist=[
            {
                "material_id": hall.material.pk,
                "name": "居民身份证",
                "required": True,
                "is_key": True,
                "received": received,
            }
        ],  # fmt: skip
        status=status,
        review_round=1,
        current_step=2,
        accepted_at=accepted,
        due_date=timezone.localdate(accepted),
        finished_at=now + datetime.timedelta(days=days_late),
        **extra,
    )


def _rules(case):
    return set(case_audit(case_id=case.pk))


def test_a_clean_case_raises_nothing(hall):
    case = _case(hall)
    ReviewTask.objects.create(
        case=case, review_round=1, step=1, role="review", status="approved", assignee=hall.zhou
    )
    assert _rules(case) == set()


def test_a_missing_required_material_without_deferral_is_found(hall):
    assert _rules(_case(hall, received=False)) == {"material_missing"}


def test_a_case_finished_after_its_date_is_found(hall):
    assert _rules(_case(hall, days_late=3)) == {"finished_late"}


def test_a_chain_with_a_repeated_person_is_found(hall):
    case = _case(hall)
    ReviewTask.objects.create(
        case=case, review_round=1, step=1, role="review", status="approved", assignee=hall.li_na
    )
    assert _rules(case) == {"chain_not_distinct"}


def test_a_chain_naming_one_person_at_two_steps_is_found_with_the_chain_as_evidence(hall):
    case = _case(hall)
    for step in (1, 2):
        ReviewTask.objects.create(
            case=case, review_round=1, step=step, role="review", status="approved",
            assignee=hall.zhou,
        )  # fmt: skip
    assert _rules(case) == {"chain_not_distinct"}
    finding = Finding.objects.get(case=case, rule="chain_not_distinct")
    assert sorted(finding.evidence["chain"]) == sorted([hall.li_na.pk, hall.zhou.pk, hall.zhou.pk])


def test_an_expired_task_of_the_handler_does_not_make_the_chain_repeat(hall):
    case = _case(hall)
    ReviewTask.objects.create(
        case=case, review_round=1, step=1, role="review", status="expired", assignee=hall.li_na
    )
    ReviewTask.objects.create(
        case=case, review_round=1, step=1, role="review", status="approved", assignee=hall.zhou,
        attempt=2,
    )  # fmt: skip
    assert _rules(case) == set()


def test_a_pair_counts_only_the_30_days_up_to_the_cases_acceptance(hall):
    digest = id_number_digest(make_id_number())
    for days_ago in (40, 10):
        _case(hall, digest=digest, accepted=timezone.now() - datetime.timedelta(days=days_ago))
    assert _rules(_case(hall, digest=digest)) == set()


def test_the_same_clerk_and_applicant_three_times_in_30_days_is_found(hall):
    digest = id_number_digest(make_id_number())
    for days_ago in (20, 10):
        _case(hall, digest=digest, accepted=timezone.now() - datetime.timedelta(days=days_ago))
    assert _rules(_case(hall, digest=digest)) == {"repeated_pair"}


def test_the_same_agent_with_the_same_clerk_three_times_for_different_applicants_is_found(
    hall,
):
    agent = {"agent_name": "张代办", "agent_id_digest": id_number_digest(make_id_number())}
    for days_ago in (20, 10):
        _case(hall, accepted=timezone.now() - datetime.timedelta(days=days_ago), **agent)
    case = _case(hall, **agent)
    assert _rules(case) == {"repeated_pair"}
    finding = Finding.objects.get(case=case, rule="repeated_pair")
    assert finding.evidence["through_agent"] is True


def test_different_agents_with_one_clerk_are_no_repeated_pair(hall):
    for days_ago in (20, 10, 0):
        case = _case(
            hall,
            accepted=timezone.now() - datetime.timedelta(days=days_ago),
            agent_name="代办",
            agent_id_digest=id_number_digest(make_id_number()),
        )
    assert _rules(case) == set()


def test_rules_skip_unfinished_cases_and_never_double_a_finding(hall):
    assert _rules(_case(hall, status="in_review", received=False)) == set()
    case = _case(hall, received=False)
    case_audit(case_id=case.pk)
    case_audit(case_id=case.pk)
    assert Finding.objects.filter(case=case).count() == 1


def test_nightly_rules_find_high_no_show_rates_and_repeated_retaking(hall, django_user_model):
    from tests.factories import ItemFactory, WindowFactory

    today = timezone.localdate()
    clerks = [make_staff(Role.CLERK) for _ in range(3)]
    window = WindowFactory(number=20)
    for index, clerk in enumerate(clerks):
        for n in range(10):
            Ticket.objects.create(
                service_date=today, queue="A", sequence=index * 100 + n, item=ItemFactory(),
                issued_at=timezone.now(), clerk=clerk, window=window,
                status="no_show" if (index == 0 and n < 6) or n == 0 else "done",
            )  # fmt: skip
    Ticket.objects.create(service_date=today, queue="A", sequence=999, issued_at=timezone.now(),
                          flagged_retake=True, earlier_cancellations=2)  # fmt: skip
    nightly_audit(day=today)
    assert set(Finding.objects.values_list("rule", flat=True)) >= {
        "no_show_rate",
        "repeated_retake",
    }
    assert Finding.objects.get(rule="no_show_rate").subject == clerks[0]


def test_sampling_selects_each_level_at_its_rate():
    """Over 20,000 cases the selected share stays within 4 standard deviations."""
    seed = "a7" * 32  # a fixed, injected seed: the test is deterministic
    values = [sample_fraction(seed_hex=seed, subject=f"case:{n}") for n in range(20_000)]
    for rate in (0.05, 0.10, 0.20, 0.50):
        selected = sum(value < rate for value in values)
        sigma = math.sqrt(20_000 * rate * (1 - rate))
        assert abs(selected - 20_000 * rate) < 4 * sigma, (rate, selected)


def test_a_sampled_case_is_queued_and_its_draw_recorded(hall, settings):
    settings.AUDIT_SAMPLE_RATES = {0: 1, 1: 1, 2: 1, 3: 1}
    case = _case(hall)
    assert "sample" in _rules(case)
    event = AuditEvent.objects.get(event_type="audit.sampled", object_id=str(case.pk))
    assert event.data["selected"] is True and event.data["rate"] == 1
    assert Finding.objects.get(rule="sample").case == case


def test_each_agencys_cases_are_sampled_with_its_own_days_seed(
    hall, two_agencies, settings, django_capture_on_commit_callbacks
):
    from draws.models import DailySeed
    from draws.services import daily_seed_commit
    from langzhong_si.identity import personal_data_decrypt

    settings.AUDIT_SAMPLE_RATES = {0: 1, 1: 1, 2: 1, 3: 1}
    home, other = _case(hall), _case(hall, site=two_agencies.hall_b)
    assert home.agency_id != other.agency_id
    for case in (home, other):  # committed before the day's first audits, as beat does
        daily_seed_commit(day=timezone.localdate(), agency_id=case.agency_id)
    with django_capture_on_commit_callbacks(execute=True):  # the home seed is remembered
        case_audit(case_id=home.pk)
    with django_capture_on_commit_callbacks(execute=True):
        case_audit(case_id=other.pk)
    for case in (home, other):
        seed = DailySeed.objects.get(agency_id=case.agency_id, day=timezone.localdate())
        value = sample_fraction(
            seed_hex=personal_data_decrypt(seed.seed), subject=f"case:{case.pk}"
        )
        event = AuditEvent.objects.get(event_type="audit.sampled", object_id=str(case.pk))
        assert event.data["value"] == round(value, 12)


def test_a_finished_case_is_audited_after_commit(
    hall, settings, django_capture_on_commit_callbacks
):
    from cases import services as case_services
    from counters import services
    from tests.factories import ItemFactory, MaterialFactory

    settings.AUDIT_SAMPLE_RATES = {0: 1, 1: 1, 2: 1, 3: 1}
    item = ItemFactory(risk_level=0, promised_days=0)
    material = MaterialFactory(item=item)
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=item)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=item.pk,
            applicant_name="王",
            id_number=make_id_number(),
            received_material_ids={material.pk},
        )
    assert case.status == Case.Status.FINISHED
    assert Finding.objects.filter(case=case, rule="sample").exists()


def test_only_an_auditor_records_a_result_once_and_nobody_deletes_a_finding(hall):
    auditor = make_staff(Role.AUDITOR)
    case = _case(hall, received=False)
    case_audit(case_id=case.pk)
    finding = Finding.objects.get()
    with pytest.raises(PermissionDenied):
        finding_inspect(finding_id=finding.pk, auditor=hall.li_na, result="no_issue")
    with pytest.raises(ValidationError):
        finding_inspect(finding_id=finding.pk, auditor=auditor, result="error")
    finding_inspect(finding_id=finding.pk, auditor=auditor, result="error", error_kind="材料缺失")
    with pytest.raises(ValidationError):
        finding_inspect(finding_id=finding.pk, auditor=auditor, result="no_issue")
    with pytest.raises(PermissionError):
        finding.delete()
    assert Finding.objects.count() == 1


def test_the_auditor_queue_shows_findings_to_auditors_only(hall, client):
    case_audit(case_id=_case(hall, received=False).pk)
    sign_in(client, hall.li_na)
    assert client.get("/audit/findings/").status_code == 403
    client.force_login(make_staff(Role.AUDITOR))
    assert "缺少必需材料且无容缺记录" in client.get("/audit/findings/").content.decode()


def test_a_reviewer_who_approves_everything_at_once_is_found(hall):
    from datetime import timedelta

    reviewers = [make_staff(Role.REVIEWER, review_level=3) for _ in range(3)]
    now = timezone.now()
    for index, reviewer in enumerate(reviewers):
        for n in range(10):
            rubber_stamp = index == 0
            took = timedelta(seconds=20 if rubber_stamp else 3600)
            ReviewTask.objects.create(
                case=_case(hall, status="in_review"), review_round=1, step=1, role="review",
                assignee=reviewer, assigned_at=now - timedelta(hours=2),
                decided_at=now - timedelta(hours=2) + took,
                status="approved" if rubber_stamp or n % 3 else "returned",
            )  # fmt: skip
    nightly_audit(day=timezone.localdate())
    finding = Finding.objects.get(rule="decision_outlier")
    assert finding.subject == reviewers[0]
    assert finding.evidence["approval_rate"] == 1.0


def test_nightly_rules_stay_silent_on_an_ordinary_day(hall):
    from tests.factories import ItemFactory, WindowFactory

    day = timezone.localdate() - datetime.timedelta(days=7)
    window = WindowFactory(number=21)
    for index, clerk in enumerate(make_staff(Role.CLERK) for _ in range(3)):
        for n in range(10):
            Ticket.objects.create(
                service_date=day, queue="A", sequence=index * 100 + n, item=ItemFactory(),
                issued_at=timezone.now(), clerk=clerk, window=window,
                status="no_show" if n == 0 else "done",
            )  # fmt: skip
    assert nightly_audit(day=day) == 0
    assert not Finding.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_sampled_case_with_a_finding_is_audited_in_one_commit(hall, settings, monkeypatch):
    from django.db import connection

    import audit.chain
    from draws.services import daily_seed_commit

    settings.AUDIT_SAMPLE_RATES = {0: 1, 1: 1, 2: 1, 3: 1}
    daily_seed_commit(day=timezone.localdate())  # as beat does before the hall opens
    # The sequencer's chaining after the commit is its own work, not the audit's.
    monkeypatch.setattr(audit.chain, "audit_chain_nudge", lambda: None)
    case = _case(hall, days_late=3)
    commits = []
    original = connection._commit
    connection._commit = lambda: commits.append(1) or original()
    try:
        assert _rules(case) == {"finished_late", "sample"}
    finally:
        del connection._commit
    assert len(commits) == 1
    assert AuditEvent.objects.filter(event_type="audit.finding").count() == 2


def test_a_person_refused_uses_of_power_is_found_once_a_day_with_what_they_tried(hall):
    from audit.refusals import refusal_record

    lead, clerk = make_staff(Role.TEAM_LEAD), make_staff(Role.CLERK)
    for action in ("role_grant", "role_grant", "password_set"):
        refusal_record(actor=lead, action=action, reason="role_not_held", target=clerk)
    nightly_audit(day=timezone.localdate())
    nightly_audit(day=timezone.localdate())  # again: nothing doubled
    finding = Finding.objects.get(rule="power_refused")
    assert finding.subject == lead and finding.severity == "medium"
    assert finding.evidence == {
        "refused": [
            {"tried": "password_set", "reason": "role_not_held", "times": 1},
            {"tried": "role_grant", "reason": "role_not_held", "times": 2},
        ]
    }


def test_a_sign_in_code_typed_wrong_enough_to_end_one_is_found_once_a_day(hall):
    from security_desk.services import WRONG_ENTRIES_ALLOWED, sign_in_code_enter

    clerk, other = make_staff(Role.CLERK), make_staff(Role.CLERK)
    for _ in range(WRONG_ENTRIES_ALLOWED):
        sign_in_code_enter(user=clerk, code="00000000")  # no code open: each refused
    for _ in range(WRONG_ENTRIES_ALLOWED - 1):
        sign_in_code_enter(user=other, code="00000000")  # fewer: a typo, not a pattern
    nightly_audit(day=timezone.localdate())
    nightly_audit(day=timezone.localdate())  # again: nothing doubled
    finding = Finding.objects.get(rule="sign_in_code_refused")
    assert finding.subject == clerk and finding.severity == "medium"
    assert finding.evidence == {"wrong_entries": WRONG_ENTRIES_ALLOWED}

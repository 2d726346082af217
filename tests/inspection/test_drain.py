"""The continuous audit's drain: every finished case waiting is audited in one
transaction, as case_audit audits one; a case whose audit fails holds back only itself."""

import pytest
from django.db import connection, transaction

from audit.findings import CASE_AUDIT_TASK
from audit.models import AuditEvent, Finding
from cases.transitions import case_audit_schedule
from counters.models import Case
from inspection import rules
from inspection.rules import case_audit, case_audits_drain
from langzhong_si.identity import id_number_digest
from outbox.models import OutboxMessage
from tests.audit.test_rules import _case
from tests.factories import held_in_another_transaction, make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_sampling(settings):
    settings.AUDIT_SAMPLE_RATES = {0: 0, 1: 0, 2: 0, 3: 0}


def _finished(hall, n: int, **extra) -> list[Case]:
    """`n` finished cases, each with its continuous audit's message (not yet run: a
    test's transaction never commits)."""
    cases = [_case(hall, **extra) for _ in range(n)]
    for case in cases:
        case_audit_schedule(case)
    return cases


def _sampled(case) -> int:
    return AuditEvent.objects.filter(
        event_type="audit.sampled", object_type="counters.case", object_id=str(case.pk)
    ).count()


def _not_done() -> set[str]:
    """The continuous audit's messages not done (the hall's set-up leaves others)."""
    return set(
        OutboxMessage.objects.filter(task_name=CASE_AUDIT_TASK, done_at__isnull=True).values_list(
            "dedupe_key", flat=True
        )
    )


def test_the_drain_audits_every_finished_case_waiting_and_marks_its_message_done(hall):
    cases = _finished(hall, 3)
    assert case_audits_drain() == 3
    assert [_sampled(case) for case in cases] == [1, 1, 1]
    assert _not_done() == set()


def test_the_drain_finds_what_case_audit_finds(hall):
    late = _finished(hall, 1, received=False, days_late=3)[0]
    case_audits_drain()
    assert set(Finding.objects.filter(case=late).values_list("rule", flat=True)) == {
        "material_missing",
        "finished_late",
    }


def test_the_drains_statements_do_not_grow_with_its_cases(hall, django_capture_on_commit_callbacks):
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from draws.selectors import daily_seed_stored
    from draws.services import daily_seed_commit
    from sites.defaults import home_agency_id

    # The day's seed committed by beat, and read by this process already.
    daily_seed_commit(day=timezone.localdate(), agency_id=home_agency_id())
    with django_capture_on_commit_callbacks(execute=True):
        daily_seed_stored(agency_id=home_agency_id(), day=timezone.localdate())
    counts = []
    for n in (2, 6):
        _finished(hall, n)
        with CaptureQueriesContext(connection) as queries:
            assert case_audits_drain() == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_drain_longer_than_its_compiled_reads_reads_its_cases_through_the_orm(hall, monkeypatch):
    monkeypatch.setattr(rules, "_CASES_AUDITED", {1: rules._CASES_AUDITED[1]})
    cases = _finished(hall, 3)
    assert case_audits_drain() == 3
    assert [_sampled(case) for case in cases] == [1, 1, 1]


def test_a_drain_audits_at_most_its_limit_oldest_first(hall):
    cases = _finished(hall, 3)
    assert case_audits_drain(limit=2) == 2
    assert _not_done() == {f"case-audit:{cases[2].pk}"}


def _failing_for(monkeypatch, bad) -> list[int]:
    """The rules raise for `bad`; returns the cases they were run on."""
    run, seen = rules._case_rules_run, []

    def failing(case):
        seen.append(case.pk)
        if case.pk == bad.pk:
            raise RuntimeError("a rule failed")
        return run(case)

    monkeypatch.setattr(rules, "_case_rules_run", failing)
    return seen


def test_a_case_whose_audit_fails_holds_back_only_itself(hall, monkeypatch, caplog):
    good, bad, other = _finished(hall, 3)
    _failing_for(monkeypatch, bad)
    assert case_audits_drain() == 2
    assert (_sampled(good), _sampled(bad), _sampled(other)) == (1, 0, 1)
    assert _not_done() == {f"case-audit:{bad.pk}"}
    held = OutboxMessage.objects.get(dedupe_key=f"case-audit:{bad.pk}")
    assert f"continuous audit of message {held.pk} failed" in caplog.text
    assert "a rule failed" in held.last_error


def test_later_drains_leave_a_failed_message_to_the_sweep(hall, monkeypatch):
    (bad,) = _finished(hall, 1)
    seen = _failing_for(monkeypatch, bad)
    case_audits_drain()
    (later,) = _finished(hall, 1)
    seen.clear()
    assert case_audits_drain() == 1
    assert seen == [later.pk]  # one batch, without the failed case
    assert _not_done() == {f"case-audit:{bad.pk}"}


def test_in_a_one_process_set_up_an_audits_error_surfaces(
    hall, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(rules, "_case_rules_run", lambda case: 1 / 0)
    with pytest.raises(ZeroDivisionError), django_capture_on_commit_callbacks(execute=True):
        _finished(hall, 1)


def test_a_message_whose_case_is_missing_is_marked_failed_and_the_others_are_done(hall, caplog):
    from outbox.services import outbox_enqueue

    (case,) = _finished(hall, 1)
    for key, case_id in (("lost", 10**9), ("text", str(case.pk)), ("flag", True)):
        outbox_enqueue(
            task_name=CASE_AUDIT_TASK, kwargs={"case_id": case_id}, dedupe_key=f"case-audit:{key}"
        )
    assert case_audits_drain() == 1
    assert _sampled(case) == 1
    assert _not_done() == {"case-audit:lost", "case-audit:text", "case-audit:flag"}
    assert set(
        OutboxMessage.objects.filter(done_at=None, task_name=CASE_AUDIT_TASK).values_list(
            "last_error", flat=True
        )
    ) == {"no such case"}
    assert "no case 1000000000" in caplog.text
    assert case_audits_drain() == 0  # left to the sweep


def test_a_case_audited_on_its_own_first_is_not_sampled_twice_by_the_drain(hall):
    (case,) = _finished(hall, 1)
    case_audit(case_id=case.pk)  # by hand: no message
    case_audits_drain()
    assert _sampled(case) == 1
    assert _not_done() == set()


def test_a_message_done_by_its_own_task_is_not_drained_again(hall):
    (case,) = _finished(hall, 1)
    message = OutboxMessage.objects.get(task_name=CASE_AUDIT_TASK)
    case_audit(case_id=case.pk, outbox_message_id=message.pk)  # the sweep's fallback
    assert case_audits_drain() == 0
    assert _sampled(case) == 1


def test_finishing_a_case_in_a_one_process_set_up_audits_it_at_its_commit(
    hall, django_capture_on_commit_callbacks
):
    # Tasks eager (tests, the SQLite start): the commit's nudge runs the drain inline.
    with django_capture_on_commit_callbacks(execute=True):
        (case,) = _finished(hall, 1)
    assert _sampled(case) == 1
    assert _not_done() == set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_audit_each_case_once(hall, monkeypatch):
    """A drain skips the messages another holds: it neither waits for nor repeats them."""
    import outbox.services

    monkeypatch.setattr(outbox.services, "outbox_drain_nudge", lambda drain: None)
    with transaction.atomic():
        first, second = _finished(hall, 2)

    def hold_the_first():
        OutboxMessage.objects.select_for_update().get(dedupe_key=f"case-audit:{first.pk}")

    with held_in_another_transaction(hold_the_first, then=case_audits_drain) as later:
        now = case_audits_drain()
    assert (now, later["then"]) == (1, 1)
    assert (_sampled(first), _sampled(second)) == (1, 1)
    assert _not_done() == set()


def test_a_drain_writes_its_findings_in_the_order_of_their_keys(hall):
    # The earlier case's finding has the later key: written second.
    missing = _finished(hall, 1, received=False)[0]
    late = _finished(hall, 1, days_late=3)[0]
    case_audits_drain()
    written = list(Finding.objects.order_by("pk").values_list("dedupe_key", flat=True))
    assert written == [f"finished_late:case:{late.pk}", f"material_missing:case:{missing.pk}"]


def test_a_key_two_cases_of_one_drain_share_is_found_once_on_the_earlier_case(hall):
    digest = id_number_digest(make_id_number())
    # The third and the fourth case with one applicant are each a repeated pair.
    cases = _finished(hall, 4, digest=digest)
    case_audits_drain()
    pairs = Finding.objects.filter(rule="repeated_pair")
    assert [finding.case_id for finding in pairs] == [cases[2].pk]
    assert AuditEvent.objects.filter(event_type="audit.finding").count() == 1

"""Continuous audit (综合稽核): rules run on every finished case and nightly over the day,
and a verifiable random sample of finished cases for manual re-inspection. Everything
found lands in the auditors' queue as a Finding."""

import datetime
import logging
import statistics
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    Func,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Cast
from django.utils import timezone

from audit.findings import CASE_AUDIT_TASK, finding_key, finding_raise, findings_in_key_order
from audit.models import AuditEvent
from audit.services import audit_event_record
from counters.models import Case, Ticket
from draws.choice import sample_fraction
from draws.selectors import daily_seed_hex, daily_seed_stored
from draws.services import daily_seed_commit
from langzhong_si.batch import audit_writes_batched
from langzhong_si.calendar import OFFICE_SESSIONS, is_working_day
from langzhong_si.compiled import CompiledRead
from outbox.services import (
    outbox_message_done,
    outbox_messages_claim,
    outbox_messages_done,
    outbox_messages_failed,
)
from risk.models import ReviewTask
from security_desk.services import WRONG_ENTRIES_ALLOWED

FINISHED = ("finished", "approved", "rejected", "forwarded")
# The most finished cases one drain audits in its transaction.
CASE_AUDITS_DRAIN_LIMIT = 200

logger = logging.getLogger(__name__)


def case_audit(*, case_id: int, outbox_message_id: int | None = None) -> list[str]:
    """Run the per-case rules and the sampling draw on one finished case, in one
    transaction (one commit for the sampling record, any findings and the outbox message
    that started it marked done). The case's row lock makes a second run of the same case
    wait, then find it sampled already."""

    with transaction.atomic(durable=True), audit_writes_batched():
        if not outbox_message_done(message_id=outbox_message_id):
            return []  # another run of this message committed the audit already
        case = _CASE_AUDITED.first(case_id)
        if case is None:
            raise Case.DoesNotExist(f"no case {case_id}")
        case.sampled_recheck = outbox_message_id is None
        return _case_rules_run(case)


def case_audits_drain(*, limit: int = CASE_AUDITS_DRAIN_LIMIT, errors_raised: bool = False) -> int:
    """Audit every finished case waiting (up to `limit`, oldest first) in one
    transaction: their outbox messages claimed (others' skipped) and marked done, their
    cases locked, then read in one statement, the rules and the sampling draw run on
    each, every sampling record and every finding's event written in the batch's
    statement (a finding itself is one INSERT). Each case is audited as case_audit
    audits it; returns how many were.

    Should that transaction fail, the oldest messages waiting are done one at a time
    (case_audit), so one case's error holds back that case only. A message that fails
    so, or names no case there, is marked failed (its error kept): drains leave it to
    the sweep, which sends it to case_audit on its own after OUTBOX_REDELIVER_SECONDS,
    until it is given up and alerts. `errors_raised`: raise the first such error instead
    (tasks run inline, where errors must surface)."""
    claimed = []
    try:
        with transaction.atomic(durable=True), audit_writes_batched():
            claimed = outbox_messages_claim(task_name=CASE_AUDIT_TASK, limit=limit)
            # A case's key is an integer; anything else names no case.
            named = {
                message_id: kwargs.get("case_id")
                for message_id, kwargs in claimed
                if type(kwargs.get("case_id")) is int
            }
            # Locked first, read after: a run of one case that held its lock (started
            # by hand) has written its sampling record before this read's snapshot.
            locked = set(
                Case.objects.select_for_update()
                .filter(pk__in=named.values())
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            with findings_in_key_order():
                for case in _case_audited_all(sorted(locked)) if locked else ():
                    case.sampled_recheck = False
                    _case_rules_run(case)
            done = [message_id for message_id, case_id in named.items() if case_id in locked]
            outbox_messages_done(message_ids=done)
            missing = [
                (message_id, kwargs.get("case_id"))
                for message_id, kwargs in claimed
                if named.get(message_id) not in locked
            ]
            for message_id, case_id in missing:
                logger.warning("continuous audit: no case %r (message %s)", case_id, message_id)
            outbox_messages_failed(
                message_ids=[message_id for message_id, _ in missing], error="no such case"
            )
            return len(done)
    except Exception:
        logger.exception("continuous audit: a drain of %s messages failed", len(claimed))
        if errors_raised:
            raise
    done = 0
    for message_id, kwargs in _claimed_again(limit):
        try:
            case_audit(case_id=kwargs["case_id"], outbox_message_id=message_id)
            done += 1
        except Exception as error:
            logger.exception("continuous audit of message %s failed", message_id)
            outbox_messages_failed(message_ids=[message_id], error=repr(error))
    return done


def _claimed_again(limit: int) -> list[tuple[int, dict]]:
    """The oldest messages waiting, after a failed drain (read again, not locked: each
    is done in its own transaction, which waits for any other that holds it)."""
    with transaction.atomic():
        return outbox_messages_claim(task_name=CASE_AUDIT_TASK, limit=limit)


def _case_audited(case_id):
    """The case, locked, with whether it was sampled already, whether its chain repeats
    a person, and its clerk's recent cases with its applicant (keys only: compiled once,
    see langzhong_si.compiled; the day's seed is read apart, draws.selectors)."""
    return _cases_audited().select_for_update(of=("self",)).filter(pk=case_id)


def _case_audited_all(case_ids: list[int]) -> list[Case]:
    """The cases `case_ids`, read as _case_audited reads one (locked by the caller): by
    the read compiled for the next length up, the list padded with its last key (IN
    finds a case once however often it is named)."""
    size = next((size for size in _CASES_AUDITED if size >= len(case_ids)), None)
    if size is None:
        return list(_cases_audited_in(*case_ids))
    return _CASES_AUDITED[size].all(*case_ids, *[case_ids[-1]] * (size - len(case_ids)))


def _cases_audited_in(*case_ids):
    return _cases_audited().filter(pk__in=case_ids).order_by("pk")


def _cases_audited():
    tasks = _chain_tasks(OuterRef("pk"), OuterRef("review_round"))
    return Case.objects.select_related("item", "handler").annotate(
        sampled_already=Exists(_sampled(OuterRef("pk"))),
        chain_repeats=Exists(tasks.filter(assignee_id=OuterRef("handler_id")))
        | Exists(tasks.values("assignee_id").annotate(n=Count("pk")).filter(n__gt=1)),
        pair_in_30_days=Subquery(
            _recent(OuterRef("handler_id"), OuterRef("accepted_at"))
            .filter(applicant_id_digest=OuterRef("applicant_id_digest"))
            .annotate(n=Func("pk", function="COUNT"))
            .values("n")
        ),
    )


_CASE_AUDITED = CompiledRead(_case_audited)
# The drain's read, compiled once per process for lists of these lengths.
_CASES_AUDITED = {
    size: CompiledRead(_cases_audited_in, keys=(int,) * size)
    for size in (1, 4, 16, 64, CASE_AUDITS_DRAIN_LIMIT)
}


def _sampled(case_id):
    """The case's sampling record (one look-up through the object index, type and id,
    however long the log)."""
    return AuditEvent.objects.filter(
        object_type=Case._meta.label_lower, object_id=Cast(case_id, CharField()),
        event_type="audit.sampled",
    )  # fmt: skip


def _chain_tasks(case_id, review_round):
    """The tasks of a case's round that name a person (expired ones named nobody who acted)."""
    return (
        ReviewTask.objects.filter(case_id=case_id, review_round=review_round)
        .exclude(assignee=None)
        .exclude(status=ReviewTask.Status.EXPIRED)
        .order_by()
    )


def _recent(handler_id, accepted_at):
    """The clerk's cases accepted in the 30 days up to `accepted_at` (a value, or the
    outer case's column)."""
    since = accepted_at - timedelta(days=30)
    if hasattr(since, "resolve_expression"):
        since = ExpressionWrapper(since, output_field=DateTimeField())
    return Case.objects.filter(
        handler_id=handler_id, accepted_at__gte=since, accepted_at__lte=accepted_at
    ).order_by()


def _case_rules_run(case: Case) -> list[str]:
    """`case` comes from case_audit, read with its `chain_repeats` and `pair_in_30_days`."""
    if case.status not in FINISHED:
        return []
    missing = [r["name"] for r in case.checklist if r["required"] and not r["received"]]
    chain = [case.handler_id]
    if case.chain_repeats:  # the people, for the evidence (read only when the rule fires)
        chain += _chain_tasks(case.pk, case.review_round).values_list("assignee_id", flat=True)
    pair = case.pair_in_30_days
    # The same agent (代办人) with the same clerk, whoever they act for: an agent bringing
    # many citizens' cases to one clerk is the pairing the rule looks for.
    agent_pair = (
        _recent(case.handler_id, case.accepted_at)
        .filter(agent_id_digest=case.agent_id_digest)
        .count()
        if case.agent_id_digest
        else 0
    )
    late = bool(case.finished_at) and timezone.localdate(case.finished_at) > case.due_date
    checks = [
        # (rule, severity, fires, key, evidence, staff member concerned)
        ("material_missing", "high", bool(missing) and case.deferred_due is None,
         f"case:{case.pk}", {"missing": missing, "status": case.status}, None),
        ("finished_late", "medium", late, f"case:{case.pk}",
         {"due": case.due_date, "finished": case.finished_at}, None),
        ("chain_not_distinct", "high", case.chain_repeats, f"case:{case.pk}",
         {"chain": chain}, None),
        ("repeated_pair", "medium", pair >= 3,
         f"pair:{case.handler_id}:{case.applicant_id_digest[:16]}:{case.accepted_at:%Y%m}",
         {"cases_in_30_days": pair}, case.handler),
        ("repeated_pair", "medium", agent_pair >= 3,
         f"agent-pair:{case.handler_id}:{case.agent_id_digest[:16]}:{case.accepted_at:%Y%m}",
         {"cases_in_30_days": agent_pair, "through_agent": True}, case.handler),
    ]  # fmt: skip
    # In the order of their keys, as a drain writes them (audit.findings_in_key_order):
    # the repeated pairs' keys are shared by other cases.
    checks.sort(key=lambda check: finding_key(check[0], check[3]))
    fired = [
        rule
        for rule, severity, fires, key, evidence, subject in checks
        if fires
        and finding_raise(
            rule=rule, severity=severity, key=key, case=case, subject=subject, evidence=evidence
        )  # fmt: skip
    ]
    if _sample(case):
        fired.append("sample")
    return fired


def _sample(case) -> bool:
    """Select the case for re-inspection with its level's probability, drawn from the
    day's committed seed so an auditor can recompute the choice after the reveal."""

    # case_audit reads it with the case; but a run that waited for the case's row lock in
    # that statement read it before the wait (the statement's snapshot): a "no" is then
    # checked again, now that the lock is held (a run started by the outbox waited on its
    # message's row, in an earlier statement, and needs no second look).
    already = getattr(case, "sampled_already", None)
    if not already and (already is None or getattr(case, "sampled_recheck", False)):
        already = _sampled(case.pk).exists()
    if already:
        return False
    day = timezone.localdate()
    # The case's agency's seed: each agency's samples are recomputed from its own.
    stored = daily_seed_stored(agency_id=case.agency_id, day=day)
    if stored is None:  # beat and the task's own check both missed it: commit it now
        stored = daily_seed_commit(day=day, agency_id=case.agency_id).seed
    seed = daily_seed_hex(stored)
    value = sample_fraction(seed_hex=seed, subject=f"case:{case.pk}")
    rate = settings.AUDIT_SAMPLE_RATES[case.risk_level]
    selected = value < rate
    audit_event_record(
        event_type="audit.sampled",
        obj=case,
        data={"day": day, "value": round(value, 12), "rate": rate, "selected": selected},
    )
    if selected:
        finding_raise(rule="sample", severity="low", key=f"case:{case.pk}", case=case,
              evidence={"rate": rate, "value": round(value, 12), "day": day})  # fmt: skip
    return selected


def nightly_audit(*, day: datetime.date | None = None) -> int:
    """The day-level rules: no-show rates, actions outside office hours, re-taking, uses
    of power refused."""

    day = day or timezone.localdate()
    fired = 0
    tickets = Ticket.objects.filter(service_date=day, clerk__isnull=False)
    rates = {
        row["clerk"]: row["no_show"] / row["total"]
        for row in tickets.values("clerk").annotate(
            total=Count("pk"), no_show=Count("pk", filter=Q(status=Ticket.Status.NO_SHOW))
        )
        if row["total"] >= 5
    }
    if len(rates) >= 3:
        typical = statistics.median(rates.values())
        for clerk_id, rate in rates.items():
            if rate >= max(3 * typical, 0.2):
                fired += finding_raise(
                    rule="no_show_rate",
                    severity="medium",
                    key=f"{day}:{clerk_id}",
                    subject=_user(clerk_id),
                    evidence={"rate": round(rate, 3), "median": round(typical, 3)},
                )
    fired += _decision_outliers(day)
    for ticket in Ticket.objects.filter(service_date=day, flagged_retake=True):
        evidence = {"ticket": ticket.display_number, "cancelled": ticket.earlier_cancellations}
        fired += finding_raise(
            rule="repeated_retake", severity="medium", key=f"ticket:{ticket.pk}", evidence=evidence
        )
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    fired += _powers_refused(start)
    fired += _sign_in_codes_refused(start)
    staff_events = AuditEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1), actor__isnull=False
    ).exclude(event_type__startswith="audit.")
    for event in staff_events.iterator():
        local = timezone.localtime(event.occurred_at)
        inside = is_working_day(local.date()) and any(
            opens <= local.time() <= closes for opens, closes in OFFICE_SESSIONS
        )
        if not inside:
            fired += finding_raise(rule="outside_office_hours", severity="low",
                           key=f"{day}:{event.actor_id}", subject=event.actor,
                           evidence={"first_event": event.position, "at": local.isoformat(),
                                     "type": event.event_type})  # fmt: skip
    return fired


def _powers_refused(start: datetime.datetime) -> int:
    """Whoever was refused a use of power that day (audit.refusals: another agency's
    records, a role they do not hold, their own account, a superuser's): one finding a
    person a day, with how often and what they tried, for an auditor to ask why."""
    refused = (
        AuditEvent.objects.filter(
            occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1),
            event_type="power.refused", actor__isnull=False,
        )
        .values("actor_id", "data__tried", "data__reason")
        .annotate(times=Count("pk"))
        .order_by("actor_id", "data__tried", "data__reason")
    )  # fmt: skip
    people: dict[int, list] = {}
    for row in refused:
        people.setdefault(row["actor_id"], []).append(
            {"tried": row["data__tried"], "reason": row["data__reason"], "times": row["times"]}
        )
    fired = 0
    for person, tries in people.items():
        fired += finding_raise(
            rule="power_refused", severity="medium", key=f"{start.date()}:{person}",
            subject=_user(person), evidence={"refused": tries},
        )  # fmt: skip
    return fired


def _sign_in_codes_refused(start: datetime.datetime) -> int:
    """A person whose sign-in code was typed wrong WRONG_ENTRIES_ALLOWED times or more that
    day (enough to end a code): whoever holds the password someone else set may be
    guessing, or keeping its person out by spending their codes. One finding a person a
    day, for an auditor to ask them and the security administrator."""
    wrong = (
        AuditEvent.objects.filter(
            occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1),
            event_type="auth.sign_in_code_refused", actor__isnull=False,
        )
        .values("actor_id")
        .annotate(times=Count("pk"))
        .filter(times__gte=WRONG_ENTRIES_ALLOWED)
    )  # fmt: skip
    fired = 0
    for row in wrong:
        fired += finding_raise(
            rule="sign_in_code_refused", severity="medium",
            key=f"{start.date()}:{row['actor_id']}", subject=_user(row["actor_id"]),
            evidence={"wrong_entries": row["times"]},
        )  # fmt: skip
    return fired


def _decision_outliers(day: datetime.date) -> int:
    """Reviewers and approvers far from their peers over 30 days: approving everything
    while peers return some, or deciding in a fifth of the peers' typical time."""

    start = timezone.make_aware(
        datetime.datetime.combine(day - timedelta(days=30), datetime.time.min)
    )
    decided = ReviewTask.objects.filter(
        decided_at__gte=start,
        assigned_at__isnull=False,
        status__in=[
            ReviewTask.Status.APPROVED,
            ReviewTask.Status.RETURNED,
            ReviewTask.Status.REJECTED,
        ],
    ).values_list("assignee_id", "status", "assigned_at", "decided_at")
    people: dict[int, list] = {}
    for assignee, status, assigned, decided_at in decided:
        people.setdefault(assignee, []).append(
            (status == ReviewTask.Status.APPROVED, (decided_at - assigned).total_seconds())
        )
    stats = {
        person: (sum(ok for ok, _ in rows) / len(rows), statistics.median(s for _, s in rows))
        for person, rows in people.items()
        if len(rows) >= 10
    }
    if len(stats) < 3:
        return 0
    fired = 0
    for person, (rate, seconds) in stats.items():
        peers = [value for other, value in stats.items() if other != person]
        peer_rate = statistics.median(r for r, _ in peers)
        peer_seconds = statistics.median(s for _, s in peers)
        if (rate == 1.0 and peer_rate < 0.9) or seconds < 0.2 * peer_seconds:
            fired += finding_raise(
                rule="decision_outlier",
                severity="medium",
                key=f"{day}:{person}",
                subject=_user(person),
                evidence={"approval_rate": round(rate, 3), "median_seconds": round(seconds),
                          "peer_rate": round(peer_rate, 3), "peer_seconds": round(peer_seconds)},
            )  # fmt: skip
    return fired


def _user(user_id: int):

    return get_user_model().objects.get(pk=user_id)

import datetime
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.rules import finding_raise
from audit.services import (
    audit_append_lock,
    audit_event_record,
    audited_record_delete,
    audited_record_save,
)
from counters.calendar import working_hours_after
from counters.models import Case
from counters.notices import case_sms_queue
from counters.transitions import case_step_advance, case_transition
from langzhong_si.identity import personal_data_decrypt, personal_data_encrypt
from outbox.services import outbox_enqueue
from risk.draws import draw_choice_index, draw_message, seed_commitment
from risk.models import (
    DEFAULT_CHAIN,
    DailySeed,
    Draw,
    ItemRiskPolicy,
    LeavePeriod,
    Qualification,
    ReviewTask,
    RiskPolicy,
    StaffRelative,
)
from risk.selectors import pool_sizes, review_pool
from risk.transitions import ReviewTaskStateError, review_task_transition
from staff.models import StaffProfile
from staff.roles import Role
from staff.selectors import user_has_role, users_with_role
from staff.services import notification_send

REVIEW_DRAW_TASK = "risk.tasks.review_task_draw"


class EmptyPoolError(Exception):
    """Nobody is eligible: the caller waits rather than fall back to anyone else."""


# --- Daily seeds and draws -------------------------------------------------------------


def daily_seed_commit(*, day: datetime.date) -> DailySeed:
    """Create the day's secret seed and publish its commitment (idempotent)."""
    existing = DailySeed.objects.filter(day=day).first()
    if existing:
        return existing
    seed_hex = secrets.token_hex(32)
    try:
        with transaction.atomic():
            seed = DailySeed.objects.create(
                day=day, seed=personal_data_encrypt(seed_hex), commitment=seed_commitment(seed_hex)
            )
            audit_event_record(
                event_type="seed.committed",
                obj=seed,
                data={"day": day, "commitment": seed.commitment},
            )
    except IntegrityError:
        # Another process committed the same day's seed first; theirs stands.
        return DailySeed.objects.get(day=day)
    return seed


def daily_seed_reveal(*, day: datetime.date) -> DailySeed | None:
    """Publish a closed day's seed so its draws can be recomputed (idempotent)."""
    with transaction.atomic():
        seed = DailySeed.objects.select_for_update().filter(day=day, revealed_at=None).first()
        if seed is None:
            return None
        if day >= timezone.localdate():
            raise ValidationError(_("A day's seed is revealed only after the day closes."))
        seed.revealed_at = timezone.now()
        seed.save(update_fields=["revealed_at"])
        audit_event_record(
            event_type="seed.revealed",
            obj=seed,
            data={"day": day, "seed": personal_data_decrypt(seed.seed)},
        )
    return seed


def daily_seeds_rotate() -> None:
    """Commit today's and tomorrow's seeds in advance; reveal every closed day's."""
    today = timezone.localdate()
    daily_seed_commit(day=today)
    daily_seed_commit(day=today + timedelta(days=1))
    for day in DailySeed.objects.filter(day__lt=today, revealed_at=None).values_list(
        "day", flat=True
    ):
        daily_seed_reveal(day=day)


def draw_record(*, purpose: str, subject: str, pool: list[int], excluded: list[dict]) -> Draw:
    """Choose one person from `pool` by the day's seed and record the draw.

    Must run inside the caller's transaction (the seed row lock numbers the draws).
    """
    if not pool:
        raise EmptyPoolError(subject)
    pool = sorted(pool)
    day = timezone.localdate()
    audit_append_lock()  # before the seed row: the one lock order (see audit_append_lock)
    daily_seed_commit(day=day)
    seed = DailySeed.objects.select_for_update().get(day=day)
    number = seed.next_number
    seed.next_number = number + 1
    seed.save(update_fields=["next_number"])
    message = draw_message(day=day, number=number, purpose=purpose, subject=subject, pool=pool)
    index = draw_choice_index(
        seed_hex=personal_data_decrypt(seed.seed), message=message, pool_size=len(pool)
    )
    draw = Draw.objects.create(
        day=day,
        number=number,
        purpose=purpose,
        subject=subject,
        pool=pool,
        excluded=excluded,
        chosen_id=pool[index],
        chosen_index=index,
        drawn_at=timezone.now(),
    )
    audit_event_record(
        event_type="draw.made",
        obj=draw,
        data={
            "purpose": purpose,
            "subject": subject,
            "number": number,
            "pool": pool,
            "excluded": excluded,
            "chosen": draw.chosen_id,
        },
    )
    return draw


# --- The review chain ------------------------------------------------------------------


def case_chain(case: Case) -> list[str]:
    return case.review_chain


def review_step_open(*, case: Case, step: int, attempt: int = 1) -> ReviewTask:
    """Create the task for `step` and record its draw in the outbox (same transaction)."""
    task = ReviewTask.objects.create(
        case=case,
        review_round=case.review_round,
        step=step,
        role=case_chain(case)[step - 1],
        attempt=attempt,
    )
    outbox_enqueue(
        task_name=REVIEW_DRAW_TASK, kwargs={"task_id": task.pk}, dedupe_key=f"review-draw:{task.pk}"
    )
    return task


def review_task_draw(*, task_id: int) -> ReviewTask:
    """Draw the task's person. Safe to run any number of times: only a task still
    awaiting its draw is drawn, under a row lock."""
    with transaction.atomic(durable=True):
        task = ReviewTask.objects.select_for_update().select_related("case").get(pk=task_id)
        if task.status != ReviewTask.Status.AWAITING_DRAW:
            return task
        pool, excluded = review_pool(task=task)
        try:
            draw = draw_record(
                purpose=task.role, subject=f"review-task:{task.pk}", pool=pool, excluded=excluded
            )
        except EmptyPoolError:
            audit_event_record(
                event_type="draw.pool_empty",
                obj=task,
                outcome=AuditEvent.Outcome.FAILURE,
                data={"excluded": excluded},
            )
            _team_leads_alert_empty_pool(task)
            return task
        now = timezone.now()
        task.draw = draw
        task.assignee_id = draw.chosen_id
        task.assigned_at = now
        task.due_at = working_hours_after(timezone.localtime(now), task.case.step_hours)
        review_task_transition(
            task=task,
            to=ReviewTask.Status.OPEN,
            actor=None,
            fields=("draw", "assignee", "assigned_at", "due_at"),
            data={"draw": draw.pk},
        )
        notification_send(
            recipient=task.assignee,
            message=_("A case was drawn to you: %(number)s (%(role)s), due %(due)s.")
            % {
                "number": task.case.number,
                "role": task.get_role_display(),
                "due": timezone.localtime(task.due_at).strftime("%m-%d %H:%M"),
            },
            link=reverse("risk:task_detail", args=[task.pk]),
            dedupe_key=f"task-assigned:{task.pk}",
        )
    return task


def _team_leads_alert_empty_pool(task: ReviewTask) -> None:
    for lead in users_with_role(Role.TEAM_LEAD):
        notification_send(
            recipient=lead,
            message=_(
                "Case %(number)s is awaiting a qualified %(role)s: nobody is eligible. "
                "It is drawn as soon as someone is."
            )
            % {"number": task.case.number, "role": task.get_role_display()},
            dedupe_key=f"pool-empty:{task.pk}:{lead.pk}",
        )


class Decision:
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    ALL = (APPROVE, RETURN, REJECT)


def review_task_decide(*, task_id: int, actor, decision: str, comment: str = "") -> ReviewTask:
    """Record the drawn person's decision and move the case along its chain.

    Only the drawn person, only while the task is open, only once: superusers are
    not exempt. Returning or rejecting needs a reason.
    """
    if decision not in Decision.ALL:
        raise ValidationError(_("Unknown decision."), code="decision")
    comment = comment.strip()
    if decision != Decision.APPROVE and not comment:
        raise ValidationError(_("Give the reason for returning or rejecting."), code="reason")
    with transaction.atomic(durable=True):
        task = ReviewTask.objects.select_for_update().get(pk=task_id)
        if task.assignee_id != actor.pk:
            refused = task
        else:
            refused = None
            _review_task_apply_decision(task=task, actor=actor, decision=decision, comment=comment)
    if refused is not None:
        # Recorded in its own transaction: the refusal itself must not roll back.
        with transaction.atomic(durable=True):
            audit_event_record(
                event_type="review_task.decision_refused",
                actor=actor,
                obj=refused,
                outcome=AuditEvent.Outcome.REFUSED,
                data={"decision": decision},
            )
        raise PermissionDenied(_("Only the person drawn for this task may decide it."))
    return task


def _review_task_apply_decision(*, task: ReviewTask, actor, decision: str, comment: str) -> None:
    if task.status == ReviewTask.Status.SUPERSEDED:
        raise ReviewTaskStateError(
            _("This task was superseded when the case was resubmitted; it can no longer be "
              "decided."),
            code="task_superseded",
        )  # fmt: skip
    if task.status != ReviewTask.Status.OPEN:
        raise ReviewTaskStateError(_("This task has already been decided."), code="task_closed")
    case = Case.objects.select_for_update().get(pk=task.case_id)
    if (
        case.status != Case.Status.IN_REVIEW
        or task.review_round != case.review_round
        or task.step != case.current_step
    ):
        # Defence in depth: the one-open-task constraint already rules this out.
        raise ReviewTaskStateError(
            _("This task is not the case's current step; it can no longer be decided."),
            code="task_superseded",
        )
    task.comment = comment
    task.decided_at = timezone.now()
    review_task_transition(
        task=task,
        to={
            Decision.APPROVE: ReviewTask.Status.APPROVED,
            Decision.RETURN: ReviewTask.Status.RETURNED,
            Decision.REJECT: ReviewTask.Status.REJECTED,
        }[decision],
        actor=actor,
        fields=("comment", "decided_at"),
        data={"decision": decision, "comment": comment},
    )
    if decision == Decision.APPROVE:
        _case_after_approval(case=case, task=task, actor=actor)
    elif decision == Decision.RETURN:
        case_transition(case=case, to=Case.Status.RETURNED, actor=actor)
    else:
        case.finished_at = task.decided_at
        case_transition(case=case, to=Case.Status.REJECTED, actor=actor, fields=("finished_at",))
        case_sms_queue(
            case=case,
            event="rejected",
            text=_("Your application %(number)s (%(item)s) was not approved: %(reason)s")
            % {"number": case.number, "item": case.item.name, "reason": comment},
        )


def _case_after_approval(*, case: Case, task: ReviewTask, actor) -> None:
    if task.step < len(case_chain(case)):
        case_step_advance(case=case, actor=actor)
        review_step_open(case=case, step=case.current_step)
        return
    case.finished_at = task.decided_at
    case_transition(case=case, to=Case.Status.APPROVED, actor=actor, fields=("finished_at",))
    case_sms_queue(
        case=case,
        event="approved",
        text=_("Your application %(number)s (%(item)s) has been approved.")
        % {"number": case.number, "item": case.item.name},
    )


def review_tasks_redraw_overdue() -> int:
    """Re-draw every open task past its time limit, excluding the absent person;
    retry draws that found nobody eligible. Returns the number of tasks re-drawn."""
    now = timezone.now()
    redrawn = 0
    for task_id in ReviewTask.objects.filter(
        status=ReviewTask.Status.OPEN, due_at__lt=now
    ).values_list("pk", flat=True):
        if review_task_expire(task_id=task_id):
            redrawn += 1
    review_tasks_retry_awaiting()
    return redrawn


def review_tasks_retry_awaiting() -> int:
    """Draw again every task still awaiting a qualified person (the pool was empty, or
    its first draw message has not arrived yet). Returns the number now drawn."""
    stale = timezone.now() - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    drawn = 0
    for task_id in ReviewTask.objects.filter(
        status=ReviewTask.Status.AWAITING_DRAW, created_at__lt=stale
    ).values_list("pk", flat=True):
        if review_task_draw(task_id=task_id).status == ReviewTask.Status.OPEN:
            drawn += 1
    return drawn


def review_tasks_warn_due_soon() -> int:
    """Warn each drawn person once when their task's time limit is near."""
    soon = timezone.now() + timedelta(minutes=settings.REVIEW_WARN_MINUTES)
    warned = 0
    for task in ReviewTask.objects.filter(
        status=ReviewTask.Status.OPEN, due_at__lte=soon, due_at__gt=timezone.now()
    ).select_related("case", "assignee"):
        notification_send(
            recipient=task.assignee,
            message=_("Time limit near: case %(number)s is due at %(due)s, then it is re-drawn.")
            % {
                "number": task.case.number,
                "due": timezone.localtime(task.due_at).strftime("%H:%M"),
            },
            link=reverse("risk:task_detail", args=[task.pk]),
            dedupe_key=f"task-due-soon:{task.pk}",
        )
        warned += 1
    return warned


def review_task_expire(*, task_id: int) -> ReviewTask | None:
    with transaction.atomic(durable=True):
        task = ReviewTask.objects.select_for_update().select_related("case").get(pk=task_id)
        if task.status != ReviewTask.Status.OPEN or task.due_at >= timezone.now():
            return None
        task.decided_at = timezone.now()
        review_task_transition(
            task=task,
            to=ReviewTask.Status.EXPIRED,
            actor=None,
            fields=("decided_at",),
            data={"absent": task.assignee_id},
        )
        return review_step_open(case=task.case, step=task.step, attempt=task.attempt + 1)


def review_round_open(*, case: Case, actor) -> ReviewTask:
    """Start the next round of a returned case's chain: every task still open from an
    earlier round is superseded (it can never be decided), then step 1 is opened.
    The caller holds the case row lock and has moved the case back into review."""
    for task in ReviewTask.objects.select_for_update().filter(
        case=case, review_round__lt=case.review_round, status__in=ReviewTask.OPEN_STATES
    ):
        review_task_transition(
            task=task,
            to=ReviewTask.Status.SUPERSEDED,
            actor=actor,
            data={"by_round": case.review_round},
        )
    return review_step_open(case=case, step=1)


@dataclass(frozen=True)
class DrawMismatch:
    number: int
    reason: str


def draws_verify(*, day: datetime.date) -> list[DrawMismatch]:
    """Recompute every draw of a revealed day from its seed and recorded pool."""
    seed = DailySeed.objects.filter(day=day).first()
    if seed is None or seed.revealed_at is None:
        raise ValidationError(_("The seed of %(day)s has not been revealed.") % {"day": day})
    seed_hex = personal_data_decrypt(seed.seed)
    if seed_commitment(seed_hex) != seed.commitment:
        return [DrawMismatch(0, "seed does not match its published commitment")]
    mismatches = []
    expected_number = 1
    for draw in Draw.objects.filter(day=day).order_by("number"):
        if draw.number != expected_number:
            mismatches.append(DrawMismatch(expected_number, "missing draw number"))
        expected_number = draw.number + 1
        pool = list(draw.pool)
        if pool != sorted(pool):
            mismatches.append(DrawMismatch(draw.number, "pool not in canonical order"))
            continue
        message = draw_message(
            day=day, number=draw.number, purpose=draw.purpose, subject=draw.subject, pool=pool
        )
        index = draw_choice_index(seed_hex=seed_hex, message=message, pool_size=len(pool))
        if index != draw.chosen_index or pool[index] != draw.chosen_id:
            mismatches.append(DrawMismatch(draw.number, "chosen person differs from the seed's"))
    return mismatches


# --- Policy, qualifications, availability, relatives ----------------------------------------

_CHAIN_PREFIXES = [
    [role.value for role in DEFAULT_CHAIN[3]][:n] for n in range(len(DEFAULT_CHAIN[3]) + 1)
]
_RETRY_AWAITING_TASK = "risk.tasks.review_tasks_retry_awaiting"


def risk_chain_validate(*, level: int, steps: list[str]) -> None:
    """A chain is review, then approval, then second approval, cut anywhere; every
    level from 1 up needs at least a review."""
    if list(steps) not in _CHAIN_PREFIXES:
        raise ValidationError(
            _(
                "Steps must be [], [review], [review, approval] "
                "or [review, approval, second_approval]."
            ),
            code="chain_shape",
        )
    if level >= 1 and not steps:
        raise ValidationError(_("A level 1–3 item needs at least a review."), code="chain_empty")


def _granting_allowed(granted_by, user) -> None:
    if granted_by is None:
        return  # set-up commands (seed_demo, data migrations)
    if granted_by.pk == user.pk:
        raise PermissionDenied(_("Nobody may grant themselves a qualification."))
    if not (
        user_has_role(granted_by, Role.TEAM_LEAD)
        or user_has_role(granted_by, Role.SECURITY_ADMINISTRATOR)
    ):
        raise PermissionDenied(
            _("Only the team lead or the security administrator grants qualifications.")
        )


def _retry_awaiting_after_commit(key: str) -> None:
    outbox_enqueue(task_name=_RETRY_AWAITING_TASK, kwargs={}, dedupe_key=f"retry-awaiting:{key}")


@transaction.atomic
def qualification_grant(
    *,
    user,
    kind: str,
    level: int,
    reason: str,
    granted_by=None,
    valid_from: datetime.date | None = None,
    valid_to: datetime.date | None = None,
) -> Qualification:
    _granting_allowed(granted_by, user)
    if not reason.strip():
        raise ValidationError(_("Give the reason for the grant."), code="reason")
    qualification = Qualification(
        user=user,
        kind=kind,
        level=level,
        valid_from=valid_from or timezone.localdate(),
        valid_to=valid_to,
        granted_by=granted_by,
        reason=reason,
    )
    qualification.full_clean()
    with _eligibility_change(actor=granted_by, user=user, change="qualification_granted",
                             reason=reason):  # fmt: skip
        qualification._change_reason = reason
        qualification.save()
    audit_event_record(
        event_type="qualification.granted",
        actor=granted_by,
        obj=qualification,
        data={"user": user.pk, "kind": kind, "level": level, "reason": reason,
              "valid_from": qualification.valid_from, "valid_to": valid_to},
    )  # fmt: skip
    _retry_awaiting_after_commit(f"qualification:{qualification.pk}")
    return qualification


@transaction.atomic
def qualification_revoke(*, qualification_id: int, reason: str, revoked_by) -> Qualification:
    qualification = Qualification.objects.select_for_update().get(pk=qualification_id)
    _granting_allowed(revoked_by, qualification.user)
    _reason_required(reason)
    if qualification.revoked_at is None:
        with _eligibility_change(
            actor=revoked_by, user=qualification.user, change="qualification_revoked", reason=reason
        ):
            qualification.revoked_at = timezone.now()
            qualification._change_reason = reason
            qualification.save(update_fields=["revoked_at"])
        audit_event_record(
            event_type="qualification.revoked",
            actor=revoked_by,
            obj=qualification,
            data={"reason": reason},
        )
    return qualification


@transaction.atomic
def leave_record(*, user, start: datetime.date, end: datetime.date, reason: str, recorded_by=None):
    _granting_allowed(recorded_by, user)
    _reason_required(reason)
    period = LeavePeriod(user=user, start=start, end=end, reason=reason)
    period.full_clean()
    with _eligibility_change(actor=recorded_by, user=user, change="leave_recorded", reason=reason):
        period.save()
    audit_event_record(
        event_type="staff.leave_recorded",
        actor=recorded_by,
        obj=period,
        data={"user": user.pk, "start": start, "end": end, "reason": reason},
    )
    return period


@transaction.atomic
def availability_set(*, user, availability: str, reason: str, actor) -> StaffProfile:
    """Put a reviewer or approver on duty, pause them or mark them on leave: who can be
    drawn changes, so only the team lead (or the security administrator) does it, with
    a reason, never for themselves, and it is recorded."""
    _granting_allowed(actor, user)
    _reason_required(reason)
    if availability not in StaffProfile.Availability.values:
        raise ValidationError(_("Unknown availability."), code="availability")
    profile = StaffProfile.objects.select_for_update().get(user=user)
    if profile.availability == availability:
        return profile
    before = profile.availability
    with _eligibility_change(actor=actor, user=user, change="availability", reason=reason):
        profile.availability = availability
        profile._change_reason = reason
        profile.save(update_fields=["availability"])
    audit_event_record(
        event_type="staff.availability_changed",
        actor=actor,
        obj=profile,
        data={"user": user.pk, "from": before, "to": availability, "reason": reason},
    )
    return profile


@transaction.atomic
def eligibility_record_save(*, instance: Qualification | LeavePeriod, reason: str, actor) -> None:
    """An edit of an existing qualification or leave in the admin: same rights, reason
    and record as the services that create them."""
    _granting_allowed(actor, instance.user)
    _reason_required(reason)
    change = f"{instance._meta.model_name}_edited"
    with _eligibility_change(actor=actor, user=instance.user, change=change, reason=reason):
        audited_record_save(instance=instance, reason=reason, actor=actor)


@transaction.atomic
def eligibility_record_delete(*, instance: Qualification | LeavePeriod, reason: str, actor) -> None:
    _granting_allowed(actor, instance.user)
    _reason_required(reason)
    change = f"{instance._meta.model_name}_deleted"
    with _eligibility_change(actor=actor, user=instance.user, change=change, reason=reason):
        audited_record_delete(instance=instance, reason=reason, actor=actor)


def _reason_required(reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason for this change."), code="reason")


# A role's pool at or below this share of its size earlier the same day (or down to one
# person) is a sudden shrink: the auditors look at who narrowed it and why.
POOL_SHRINK_SHARE = 0.5


@contextmanager
def _eligibility_change(*, actor, user, change: str, reason: str):
    """Wrap one change to who can be drawn: record it with the pools before and after,
    and raise a finding when a pool shrank suddenly."""
    before = pool_sizes()
    yield
    after = pool_sizes()
    event = audit_event_record(
        event_type="pool.changed",
        actor=actor,
        obj=user,
        data={"user": user.pk, "change": change, "reason": reason,
              "before": before, "after": after},
    )  # fmt: skip
    _pool_shrink_check(event=event, after=after)


def _pool_shrink_check(*, event: AuditEvent, after: list[dict]) -> None:
    today = timezone.localdate()
    earlier = AuditEvent.objects.filter(
        event_type="pool.changed", occurred_at__date=today
    ).values_list("data", flat=True)
    usual: dict[tuple[str, int], int] = {}
    for data in earlier:
        for row in data.get("before", []):
            key = (row["role"], row["level"])
            usual[key] = max(usual.get(key, 0), row["size"])
    for row in after:
        largest = usual.get((row["role"], row["level"]), 0)
        if largest >= 2 and (row["size"] <= largest * POOL_SHRINK_SHARE or row["size"] <= 1):
            finding_raise(
                rule="pool_shrink",
                severity="high",
                key=f"{row['role']}:{row['level']}:{today}",
                subject=event.actor,
                evidence={"role": row["role"], "level": row["level"], "earlier_today": largest,
                          "now": row["size"], "event": event.position},
            )  # fmt: skip


@transaction.atomic
def relative_declare(*, user, id_number: str, relation: str) -> StaffRelative:
    from langzhong_si.identity import id_number_digest, id_number_validate

    digest = id_number_digest(id_number_validate(id_number))
    relative, _created = StaffRelative.objects.get_or_create(
        user=user, id_number_digest=digest, defaults={"relation": relation}
    )
    audit_event_record(
        event_type="staff.relative_declared", actor=user, obj=relative, data={"relation": relation}
    )
    return relative


def risk_policy_validate(policy: RiskPolicy | ItemRiskPolicy) -> None:
    level = policy.level if isinstance(policy, RiskPolicy) else policy.item.risk_level
    risk_chain_validate(level=level, steps=policy.steps)

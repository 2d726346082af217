import datetime
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.agency import person_agency_ids
from audit.findings import finding_raise
from audit.models import AuditEvent
from audit.services import audit_event_record, audited_record_save
from draws.services import EmptyPoolError, draw_record, draw_subject_keys_taken
from langzhong_si.batch import audit_writes_batched
from langzhong_si.calendar import working_hours_after
from langzhong_si.identity import id_number_digest, id_number_validate
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from langzhong_si.saves import record_insert, record_new
from langzhong_si.text import (
    CHANGE_REASON_MAX_LENGTH,
    text_clean,
)
from outbox.services import outbox_enqueue, outbox_message_done
from risk.models import (
    DEFAULT_CHAIN,
    ItemRiskPolicy,
    LeavePeriod,
    Qualification,
    RecusalDeclaration,
    ReviewTask,
    RiskPolicy,
    StaffRelative,
)
from risk.selectors import pool_sizes, review_pool_scoped
from risk.transitions import review_task_transition
from sites.selectors import deployment_keeper_check
from staff.models import StaffProfile
from staff.roles import Role
from staff.scope import agency_manager_check
from staff.selectors import user_has_role, users_with_role
from staff.services import notification_send

REVIEW_DRAW_TASK = "risk.tasks.review_task_draw"


# --- The review chain ------------------------------------------------------------------


def case_chain(case) -> list[str]:
    return case.review_chain


def review_step_open(*, case, step: int, attempt: int = 1) -> ReviewTask:
    """Create the task for `step` and draw its person, in the caller's transaction: the
    drawn person finds the task the moment it commits, worker or not, and nobody in
    that transaction sees whom (clerk and reviewer stay blind). A rolled-back draw
    records nothing, and whoever starts it cannot see its result, so rolling back
    chooses nobody. An empty pool leaves the task awaiting its draw (retried by beat)."""
    task = record_new(
        ReviewTask, case=case, agency_id=case.agency_id, review_round=case.review_round,
        step=step, role=case_chain(case)[step - 1], attempt=attempt,
    )  # fmt: skip
    return _review_task_draw_locked(task)


def review_task_draw(*, task_id: int, outbox_message_id: int | None = None) -> ReviewTask:
    """Draw a task still awaiting its person (its pool was empty, or a draw message of
    an earlier release). Safe to run any number of times: only a task still awaiting
    its draw is drawn, under a row lock. The outbox message that started it is marked
    done in the same transaction."""
    with transaction.atomic(durable=True), audit_writes_batched():
        outbox_message_done(message_id=outbox_message_id)
        task = ReviewTask.objects.select_for_update().select_related("case").get(pk=task_id)
        if task.status != ReviewTask.Status.AWAITING_DRAW:
            return task
        return _review_task_draw_locked(task)


def _review_task_draw_locked(task: ReviewTask) -> ReviewTask:
    """Draw the person of `task`, created or locked by the caller and awaiting its draw.
    A task not written yet (review_step_open) takes its key with its draw's number
    where it can (draws.services.draw_subject_keys_taken) and is written once, open
    with its person, with the transaction's audit events: two statements fewer than an
    insert and an update. Otherwise it is written first, awaiting its draw."""
    pool, excluded, scope = review_pool_scoped(task=task)
    if task.pk is None and not (pool and draw_subject_keys_taken()):
        record_insert(task)
    try:
        draw = draw_record(
            purpose=task.role, subject="review-task:{key}", subject_record=task, pool=pool,
            excluded=excluded, agency_id=task.case.agency_id, scope=scope,
        )  # fmt: skip
    except EmptyPoolError:
        audit_event_record(
            event_type="draw.pool_empty",
            obj=task,
            outcome=AuditEvent.Outcome.FAILURE,
            data={"excluded": excluded, "scope": scope},
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
        created=draw.subject_key is not None,
    )
    notification_send(
        recipient=task.assignee_id,
        message=_("A case was drawn to you: %(number)s (%(role)s), due %(due)s.")
        % {
            "number": task.case.number,
            "role": task.get_role_display(),
            "due": timezone.localtime(task.due_at).strftime("%m-%d %H:%M"),
        },
        link=reverse("cases:task_detail", args=[task.pk]),
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
    """Draw again every task still awaiting a qualified person (its pool was empty when
    it was opened). Returns the number now drawn."""
    drawn = 0
    for task_id in ReviewTask.objects.filter(status=ReviewTask.Status.AWAITING_DRAW).values_list(
        "pk", flat=True
    ):
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
            link=reverse("cases:task_detail", args=[task.pk]),
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


def review_round_open(*, case, actor) -> ReviewTask:
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


# --- Policy, qualifications, availability, relatives ----------------------------------------

_CHAIN_PREFIXES = [
    [role.value for role in DEFAULT_CHAIN[3]][:n] for n in range(len(DEFAULT_CHAIN[3]) + 1)
]
RETRY_AWAITING_TASK = "risk.tasks.review_tasks_retry_awaiting"


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
        raise PermissionDenied(_("Nobody changes whether they themselves can be drawn."))
    if not (
        user_has_role(granted_by, Role.TEAM_LEAD)
        or user_has_role(granted_by, Role.SECURITY_ADMINISTRATOR)
    ):
        raise PermissionDenied(
            _("Only the team lead or the security administrator grants qualifications.")
        )
    # Who can be drawn in an agency is that agency's to decide.
    agency_manager_check(granted_by, person_agency_ids(user), action="drawable", target=user)


def _retry_awaiting_after_commit(key: str) -> None:
    outbox_enqueue(task_name=RETRY_AWAITING_TASK, kwargs={}, dedupe_key=f"retry-awaiting:{key}")


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
    site=None,
) -> Qualification:
    """Grant `user` the right to review or approve up to `level`: at any site of their
    agency, or (`site`) only when drawn as that site's staff."""
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)
    _granting_allowed(granted_by, user)
    if not reason.strip():
        raise ValidationError(_("Give the reason for the grant."), code="reason")
    if site is not None:
        _qualification_site_check(user=user, site=site)
    qualification = Qualification(
        user=user,
        site=site,
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
              "valid_from": qualification.valid_from, "valid_to": valid_to,
              "site": site.pk if site is not None else None},
    )  # fmt: skip
    _retry_awaiting_after_commit(f"qualification:{qualification.pk}")
    return qualification


def _qualification_site_check(*, user, site) -> None:
    """A qualification is limited only to a site of the person's own agency."""
    agencies = set(
        StaffProfile.sites.through.objects.filter(staffprofile__user=user).values_list(
            "site__agency_id", flat=True
        )
    )
    if agencies != {site.agency_id}:
        raise ValidationError(
            _("A qualification can be limited only to a site of the person's own agency."),
            code="site_agency",
        )


def risk_policy_save(*, policy: RiskPolicy | ItemRiskPolicy, reason: str, actor) -> None:
    """Save a policy edited by a person (the admin): its chain is checked, the reason
    goes into the row history and a record.edited event, and a change of where a
    step's pool comes from is an event of its own, naming the scopes before and after.

    Policies are the deployment's (every agency draws by them): in a deployment hosting
    several agencies only the hosting (home) agency's staff, or the installing
    superuser, change them."""
    deployment_keeper_check(actor)
    risk_policy_validate(policy)
    before = (
        type(policy).objects.filter(pk=policy.pk).values("review_scope", "approval_scope").first()
        if policy.pk
        else None
    )
    after = {"review_scope": policy.review_scope, "approval_scope": policy.approval_scope}
    with transaction.atomic():
        audited_record_save(instance=policy, reason=reason, actor=actor)
        if before is not None and before != after:
            audit_event_record(
                event_type="risk_policy.scope_changed",
                actor=actor,
                obj=policy,
                data={"before": before, "after": after, "reason": reason},
            )


@transaction.atomic
def leave_record(*, user, start: datetime.date, end: datetime.date, reason: str, recorded_by=None):
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)
    _granting_allowed(recorded_by, user)
    reason = _reason_required(reason)
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
    reason = _reason_required(reason)
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
    if isinstance(instance, Qualification) and instance.site_id is not None:
        _qualification_site_check(user=instance.user, site=instance.site)
    reason = _reason_required(reason)
    change = f"{instance._meta.model_name}_edited"
    with _eligibility_change(actor=actor, user=instance.user, change=change, reason=reason):
        audited_record_save(instance=instance, reason=reason, actor=actor)


def _reason_required(reason: str) -> str:
    """The change's reason, cleaned and bounded (it goes into row history too)."""
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)
    if not reason.strip():
        raise ValidationError(_("Give the reason for this change."), code="reason")
    return reason


# A role's pool at or below this share of its size earlier the same day (or down to one
# person) is a sudden shrink: the auditors look at who narrowed it and why.
POOL_SHRINK_SHARE = 0.5


@contextmanager
def _eligibility_change(*, actor, user, change: str, reason: str):
    """Wrap one change to who can be drawn: record it with the pools before and after,
    and raise a finding when a pool shrank suddenly."""
    before = pool_sizes()
    yield
    pool_change_record(actor=actor, user=user, change=change, reason=reason, before=before)


def pool_change_record(*, actor, user, change: str, reason: str, before: list[dict]):
    """Record one change to who can be drawn, measured before it as `before`
    (pool_sizes), with the pools now, and raise a finding when a pool shrank suddenly.
    The services wrap their changes in _eligibility_change; staff's changes arrive
    through its eligibility signals (risk.receivers)."""
    after = pool_sizes()
    event = audit_event_record(
        event_type="pool.changed",
        actor=actor,
        obj=user,
        data={"user": user.pk, "change": change, "reason": reason,
              "before": before, "after": after},
    )  # fmt: skip
    _pool_shrink_check(event=event, after=after)
    return event


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
                          "now": row["size"], "event": event.pk},
            )  # fmt: skip


def risk_policy_validate(policy: RiskPolicy | ItemRiskPolicy) -> None:
    level = policy.level if isinstance(policy, RiskPolicy) else policy.item.risk_level
    risk_chain_validate(level=level, steps=policy.steps)


# --- Recusal declarations: own ID number and relatives --------------------------------
# A staff member records them on /account/recusal/ after re-entering their password;
# only keyed hashes are stored, and no audit event carries a number or a digest.

_RECUSAL_PASSWORD_TRIES = 5
_RECUSAL_PASSWORD_WINDOW_SECONDS = 15 * 60


def _recusal_password_check(*, user, password: str) -> None:
    """The person at the screen must be the account holder, not whoever finds a session
    left open: a wrong password is refused and logged, and five in 15 minutes close the
    form for the rest of the window."""
    budget = FailureBudget(
        name="recusal-password", subject=str(user.pk),
        limit=_RECUSAL_PASSWORD_TRIES, window_seconds=_RECUSAL_PASSWORD_WINDOW_SECONDS,
    )  # fmt: skip
    allowed = failure_budgets_reserve([budget])
    if allowed and user.check_password(password or ""):
        failure_budgets_release([budget])
        return
    with transaction.atomic(durable=True):
        audit_event_record(
            event_type="recusal.password_refused",
            actor=user,
            obj=user,
            outcome=AuditEvent.Outcome.REFUSED,
        )
    if not allowed:
        raise PermissionDenied(_("Too many wrong passwords. Try again in 15 minutes."))
    raise PermissionDenied(_("The password is not right. Nothing was changed."))


def _recusal_confirmed(*, user) -> RecusalDeclaration:
    """Every change, and the explicit confirmation, counts as confirming the whole."""
    now = timezone.now()
    declaration = RecusalDeclaration.objects.select_for_update().filter(user=user).first()
    if declaration is None:
        return RecusalDeclaration.objects.create(user=user, confirmed_at=now)
    declaration.confirmed_at = now
    declaration.save(update_fields=["confirmed_at"])
    return declaration


def _recusal_profile(user) -> StaffProfile:
    profile = StaffProfile.objects.select_for_update().filter(user=user).first()
    if profile is None:
        raise ValidationError(
            _("Only staff members with a staff profile declare recusal data."), code="no_profile"
        )
    return profile


def recusal_own_id_record(*, user, password: str, id_number: str) -> None:
    """A staff member records their own ID number, so no draw gives them their own case."""
    number = id_number_validate(id_number)
    _recusal_password_check(user=user, password=password)
    with transaction.atomic(durable=True):
        profile = _recusal_profile(user)
        if profile.id_number_digest:
            # Replacing it would put the person back into the draws for their own
            # cases: a person's ID number does not change, so it is recorded once.
            raise ValidationError(
                _("Your ID number is already recorded. If it is wrong, ask the security "
                  "administrator to correct it."),
                code="own_id_recorded",
            )  # fmt: skip
        replaced = False
        profile.id_number_digest = id_number_digest(number)
        profile._change_reason = "recusal declaration"
        profile.save(update_fields=["id_number_digest"])
        _recusal_confirmed(user=user)
        audit_event_record(
            event_type="recusal.own_id_recorded",
            actor=user,
            obj=profile,
            data={"replaced": replaced},
        )


def recusal_own_id_clear(*, user, cleared_by, reason: str) -> None:
    """The security administrator clears a wrongly recorded own ID number (never their
    own), with a reason, so its owner can record the right one. Until then the owner is
    not recused from their own cases: it is a change to who can be drawn, recorded."""
    if not user_has_role(cleared_by, Role.SECURITY_ADMINISTRATOR) or cleared_by.pk == user.pk:
        raise PermissionDenied(
            _("Only the security administrator corrects another person's ID number.")
        )
    reason = _reason_required(reason)
    with (
        transaction.atomic(durable=True),
        _eligibility_change(actor=cleared_by, user=user, change="own_id_cleared", reason=reason),
    ):
        profile = StaffProfile.objects.select_for_update().get(user=user)
        if not profile.id_number_digest:
            raise ValidationError(_("No ID number is recorded."), code="own_id_missing")
        profile.id_number_digest = ""
        profile._change_reason = reason
        profile.save(update_fields=["id_number_digest"])
        audit_event_record(
            event_type="recusal.own_id_cleared",
            actor=cleared_by,
            obj=profile,
            data={"user": user.pk, "reason": reason},
        )


def recusal_relative_add(*, user, password: str, id_number: str, relation: str) -> StaffRelative:
    """A staff member declares a relative, so no draw gives them the relative's case."""
    if relation not in StaffRelative.Relation.values:
        raise ValidationError(_("Choose the relation."), code="relation")
    digest = id_number_digest(id_number_validate(id_number))
    _recusal_password_check(user=user, password=password)
    with transaction.atomic(durable=True):
        profile = _recusal_profile(user)
        if profile.id_number_digest == digest:
            raise ValidationError(
                _("That is your own ID number: record it above, not as a relative."), code="own"
            )
        if StaffRelative.objects.filter(user=user, id_number_digest=digest).exists():
            raise ValidationError(_("This relative is already declared."), code="duplicate")
        relative = StaffRelative.objects.create(
            user=user, id_number_digest=digest, relation=relation
        )
        _recusal_confirmed(user=user)
        audit_event_record(
            event_type="recusal.relative_added",
            actor=user,
            obj=relative,
            data={"relation": relation},
        )
    return relative


def recusal_relative_remove(*, user, password: str, relative_id: int, reason: str) -> None:
    """Removing a relative puts the declarer back into the draws for that relative's
    cases: a reason is asked and it is recorded as a change to who can be drawn."""
    reason = _reason_required(reason)
    _recusal_password_check(user=user, password=password)
    with (
        transaction.atomic(durable=True),
        _eligibility_change(actor=user, user=user, change="relative_removed", reason=reason),
    ):
        relative = StaffRelative.objects.select_for_update().filter(pk=relative_id, user=user)
        relative = relative.first()
        if relative is None:
            raise ValidationError(_("No such declared relative."), code="not_found")
        relation, relative_pk = relative.relation, relative.pk
        relative._change_reason = "recusal declaration"
        relative.delete()
        _recusal_confirmed(user=user)
        audit_event_record(
            event_type="recusal.relative_removed",
            actor=user,
            obj=user,
            data={"relative": relative_pk, "relation": relation, "reason": reason},
        )
        # Someone fewer recused: a task waiting for an eligible person may now be drawn.
        _retry_awaiting_after_commit(f"relative-removed:{relative_pk}")


def recusal_confirm(*, user, password: str) -> RecusalDeclaration:
    """A staff member confirms their declarations are complete and current (yearly)."""
    _recusal_password_check(user=user, password=password)
    with transaction.atomic(durable=True):
        _recusal_profile(user)
        declaration = _recusal_confirmed(user=user)
        audit_event_record(event_type="recusal.confirmed", actor=user, obj=declaration)
    return declaration


def recusal_reminders_send() -> int:
    """Remind every active staff member whose declaration is older than a year (or
    missing) to re-confirm it; once per person and year. Returns the people due."""
    from django.contrib.auth import get_user_model

    cutoff = timezone.now() - timedelta(days=settings.RECUSAL_CONFIRM_DAYS)
    year = timezone.localdate().year
    due = (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__isnull=False)
        .exclude(recusal_declaration__confirmed_at__gte=cutoff)
        .order_by("pk")
    )
    count = 0
    for user in due:
        notification_send(
            recipient=user,
            message=_(
                "Please confirm your recusal declaration (your own ID number and your "
                "relatives): it is checked once a year."
            ),
            link=reverse("risk:recusal"),
            dedupe_key=f"recusal-reminder:{user.pk}:{year}",
        )
        count += 1
    return count

import datetime
import hashlib
import io
import json
import unicodedata
import zipfile

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from operations.models import Heartbeat, TaskRunCount

WORKER = "worker"
BEAT = "beat"


def heartbeat_record(*, name: str, detail: str = "") -> None:
    """Record that `name` (WORKER, BEAT) is alive now."""
    now = timezone.now()
    if not Heartbeat.objects.filter(name=name).update(seen_at=now, detail=detail[:200]):
        try:
            with transaction.atomic():
                Heartbeat.objects.create(name=name, seen_at=now, detail=detail[:200])
        except IntegrityError:  # another process created it first: ours is as good
            Heartbeat.objects.filter(name=name).update(seen_at=now, detail=detail[:200])


def task_run_count(*, task_name: str, outcome: str) -> None:
    """Add one run of `task_name` with `outcome` (succeeded, failed, retried)."""
    rows = TaskRunCount.objects.filter(task_name=task_name[:128], outcome=outcome)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            TaskRunCount.objects.create(task_name=task_name[:128], outcome=outcome, count=1)
    except IntegrityError:
        rows.update(count=F("count") + 1)


# --- Archive retention: the two-person destruction decision ------------------------------
# The two roles that decide together: whoever proposes, the other role approves.
DESTRUCTION_ROLES = ("team_lead", "auditor")
REASON_MAX = 500


class DestructionRefused(ValidationError):
    """A proposal or decision the rules do not allow; recorded, then raised."""


def _destruction_role(user) -> str:
    from staff.selectors import user_roles

    held = [role for role in DESTRUCTION_ROLES if role in user_roles(user)]
    if len(held) != 1:
        raise DestructionRefused(
            _("Only the team lead or an auditor takes part in a destruction decision."),
            code="not_a_decider",
        )
    return held[0]


def _reason(text: str) -> str:
    reason = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not reason:
        raise DestructionRefused(_("Give a reason."), code="reason_required")
    if len(reason) > REASON_MAX:
        raise DestructionRefused(
            _("The reason is longer than %(max)d characters.") % {"max": REASON_MAX},
            code="reason_too_long",
        )
    return reason


def _destroyable_check(case) -> datetime.date:
    """The server's own judgement, whatever the screen showed: past retention, closed,
    under no open finding, not destroyed."""
    from operations.models import CaseTombstone
    from operations.selectors import case_open_findings, retention_end

    if CaseTombstone.objects.filter(case=case).exists():
        raise DestructionRefused(_("This case file is already destroyed."), code="destroyed")
    ended = retention_end(case)
    if ended is None:
        raise DestructionRefused(
            _("This case file is open or kept permanently: it is never destroyed."),
            code="not_destroyable",
        )
    if ended > timezone.localdate():
        raise DestructionRefused(
            _("This case file is kept until %(date)s: it cannot be destroyed before.")
            % {"date": ended.isoformat()},
            code="retention_running",
        )
    if case_open_findings(case):
        raise DestructionRefused(
            _("An audit finding on this case is still open: it cannot be destroyed."),
            code="open_finding",
        )
    return ended


def _refusal_record(*, actor, obj, action: str, error: ValidationError) -> None:
    """A refused attempt is an event too, recorded after the refused work rolled back."""
    from audit.models import AuditEvent
    from audit.services import audit_event_record
    from operations.events import DESTRUCTION_REFUSED

    codes = [getattr(item, "code", None) or "refused" for item in error.error_list]
    with transaction.atomic():
        audit_event_record(
            event_type=DESTRUCTION_REFUSED,
            actor=actor,
            obj=obj,
            outcome=AuditEvent.Outcome.FAILURE,
            data={"action": action, "code": codes[0], "reason": " ".join(error.messages)[:300]},
        )


def _case_in_scope(person, case) -> None:
    """A case file outside the person's sites (another agency's) is, to them, as if it
    did not exist: they neither propose nor decide on it. A read-only view acts on none."""
    from staff.scope import scope_of

    scope = scope_of(person)
    if scope.read_only or not scope.allows_site(case.site_id):
        raise case.__class__.DoesNotExist


def destruction_propose(*, case_id: int, proposer, reason: str):
    """First of two: put a case file past its retention up for destruction."""
    from audit.services import audit_event_record
    from counters.models import Case
    from operations.events import DESTRUCTION_PROPOSED
    from operations.models import DestructionDecision

    case = Case.objects.select_related("item").get(pk=case_id)
    try:
        with transaction.atomic(durable=True):
            case = Case.objects.select_for_update().select_related("item").get(pk=case_id)
            _case_in_scope(proposer, case)
            role = _destruction_role(proposer)
            reason = _reason(reason)
            ended = _destroyable_check(case)
            if DestructionDecision.objects.filter(
                case=case, status=DestructionDecision.Status.PROPOSED
            ).exists():
                raise DestructionRefused(
                    _("This case file is already proposed for destruction."), code="pending"
                )
            decision = DestructionDecision.objects.create(
                case=case, retention=case.item.retention, retention_ended=ended,
                proposed_by=proposer, proposed_role=role, proposal_reason=reason,
                proposed_at=timezone.now(),
            )  # fmt: skip
            audit_event_record(
                event_type=DESTRUCTION_PROPOSED, actor=proposer, obj=decision,
                data={"case": case.number, "role": role, "reason": reason,
                      "retention": case.item.retention, "retention_ended": ended},
            )  # fmt: skip
            return decision
    except ValidationError as error:
        _refusal_record(actor=proposer, obj=case, action="propose", error=error)
        raise


def _second_person_check(decision, decider) -> str:
    _case_in_scope(decider, decision.case)
    role = _destruction_role(decider)
    if decider.pk == decision.proposed_by_id:
        raise DestructionRefused(
            _("The person who proposed a destruction cannot decide it."), code="same_person"
        )
    if role == decision.proposed_role:
        raise DestructionRefused(
            _("The decision needs the other role: the team lead and an auditor decide together."),
            code="same_role",
        )
    return role


def _case_manifest(case) -> tuple[str, dict]:
    """The e-archive's manifest (inspection.archive) as exported now, and its SHA-256."""
    from inspection.archive import case_archive_zip

    with zipfile.ZipFile(io.BytesIO(case_archive_zip(case))) as archive:
        raw = archive.read("manifest.json")
    return hashlib.sha256(raw).hexdigest(), json.loads(raw)


# What is left of a citizen's rating comment once its case file is destroyed: a bad
# rating must keep a reason (a database constraint), and this one says nothing.
RATING_REASON_CLEARED = "—"


def _case_personal_data_clear(case) -> set[str]:
    """Clear the applicant's data from the case, its row history, its texts, its ticket
    and the ticket's ratings (their comments and follow-up notes; the scores stay for the
    statistics), and detach its scans; returns the scans' storage names (deleted after
    commit; a file another case shares stays). The rows stay, so counts, reports and
    the audit chain keep their case."""
    from audit.bulk import bulk_writes_allowed
    from counters.models import Case, CaseDocument, SmsMessage, Ticket
    from ratings.models import FollowUp, Rating

    cleared = {
        "applicant_name": "", "applicant_id_encrypted": "", "applicant_id_digest": "",
        "applicant_id_masked": "", "applicant_id_tail_digest": "", "applicant_phone": "",
    }  # fmt: skip
    documents = CaseDocument.objects.filter(case=case)
    names = {name for name in documents.values_list("file", flat=True) if name}
    # Scans are stored under their content hash: a file another case also holds stays.
    shared = CaseDocument.objects.filter(file__in=names).exclude(case=case)
    names -= set(shared.values_list("file", flat=True))
    with bulk_writes_allowed():
        Case.objects.filter(pk=case.pk).update(**cleared)
        Case.history.filter(id=case.pk).update(**cleared)
        documents.update(file="")
        CaseDocument.history.filter(case_id=case.pk).update(file="")
        SmsMessage.objects.filter(case=case).update(phone="")
        if case.ticket_id:
            Ticket.objects.filter(pk=case.ticket_id).update(applicant_id_digest="")
            Ticket.history.filter(id=case.ticket_id).update(applicant_id_digest="")
            ratings = Rating.objects.filter(ticket_id=case.ticket_id)
            ratings.exclude(reason="").update(reason=RATING_REASON_CLEARED)
            follow_ups = list(
                FollowUp.objects.filter(rating__in=ratings).values_list("pk", flat=True)
            )
            FollowUp.objects.filter(pk__in=follow_ups).update(callback_note="", reply="")
            FollowUp.history.filter(id__in=follow_ups).update(callback_note="", reply="")
    return names


def destruction_approve(*, decision_id: int, approver, reason: str):
    """Second of two: a different person with the other role approves, and the case file
    is destroyed in the same transaction (its scans leave storage after commit)."""
    from audit.services import audit_event_record
    from counters.models import CaseDocument
    from operations.events import CASE_DESTROYED
    from operations.models import CaseTombstone, DestructionDecision
    from operations.transitions import destruction_transition

    decision = DestructionDecision.objects.get(pk=decision_id)
    try:
        with transaction.atomic(durable=True):
            decision = DestructionDecision.objects.select_for_update().get(pk=decision_id)
            role = _second_person_check(decision, approver)
            reason = _reason(reason)
            case = (
                decision.case.__class__.objects.select_for_update(of=("self",))
                .select_related("item", "handler__staff_profile")
                .get(pk=decision.case_id)
            )
            _destroyable_check(case)  # again: a finding may have opened since the proposal
            manifest_sha256, manifest = _case_manifest(case)
            decision.decided_by, decision.decided_role = approver, role
            decision.decision_reason, decision.decided_at = reason, timezone.now()
            destruction_transition(
                decision=decision, to=DestructionDecision.Status.DESTROYED, actor=approver,
                fields=("decided_by", "decided_role", "decision_reason", "decided_at"),
                data={"case": case.number, "role": role, "reason": reason},
            )  # fmt: skip
            names = _case_personal_data_clear(case)
            CaseTombstone.objects.create(
                case=case, decision=decision, manifest_sha256=manifest_sha256,
                manifest=manifest, destroyed_at=decision.decided_at,
            )  # fmt: skip
            audit_event_record(
                event_type=CASE_DESTROYED, actor=approver, obj=case,
                data={"decision": decision.pk, "manifest_sha256": manifest_sha256,
                      "scans": len(names), "proposed_by": decision.proposed_by_id},
            )  # fmt: skip
            storage = CaseDocument._meta.get_field("file").storage
            transaction.on_commit(lambda: [storage.delete(name) for name in names])
            return decision
    except ValidationError as error:
        _refusal_record(actor=approver, obj=decision, action="approve", error=error)
        raise


def destruction_decline(*, decision_id: int, decider, reason: str):
    """The second person says no: the case file is kept (it may be proposed again)."""
    from operations.models import DestructionDecision
    from operations.transitions import destruction_transition

    decision = DestructionDecision.objects.get(pk=decision_id)
    try:
        with transaction.atomic(durable=True):
            decision = DestructionDecision.objects.select_for_update().get(pk=decision_id)
            role = _second_person_check(decision, decider)
            reason = _reason(reason)
            decision.decided_by, decision.decided_role = decider, role
            decision.decision_reason, decision.decided_at = reason, timezone.now()
            destruction_transition(
                decision=decision, to=DestructionDecision.Status.DECLINED, actor=decider,
                fields=("decided_by", "decided_role", "decision_reason", "decided_at"),
                data={"case": decision.case.number, "role": role, "reason": reason},
            )  # fmt: skip
            return decision
    except ValidationError as error:
        _refusal_record(actor=decider, obj=decision, action="decline", error=error)
        raise


def destruction_withdraw(*, decision_id: int, proposer, reason: str):
    """The proposer takes their own proposal back before the second person decides: the
    case file is kept (and may be proposed again). Nobody else may withdraw it."""
    from operations.models import DestructionDecision
    from operations.transitions import destruction_transition

    decision = DestructionDecision.objects.get(pk=decision_id)
    try:
        with transaction.atomic(durable=True):
            decision = DestructionDecision.objects.select_for_update().get(pk=decision_id)
            if proposer.pk != decision.proposed_by_id:
                raise DestructionRefused(
                    _("Only the person who proposed a destruction can withdraw it."),
                    code="not_the_proposer",
                )
            reason = _reason(reason)
            # decided_by stays empty: the database holds decider and proposer apart.
            decision.decision_reason, decision.decided_at = reason, timezone.now()
            destruction_transition(
                decision=decision, to=DestructionDecision.Status.WITHDRAWN, actor=proposer,
                fields=("decision_reason", "decided_at"),
                data={"case": decision.case.number, "reason": reason},
            )  # fmt: skip
            return decision
    except ValidationError as error:
        _refusal_record(actor=proposer, obj=decision, action="withdraw", error=error)
        raise


def retention_review(*, today: datetime.date | None = None) -> int:
    """The monthly job: record how many case files are past retention and tell the team
    leads and auditors, who decide on each. Nothing is destroyed here."""
    from audit.services import audit_event_record
    from operations.events import RETENTION_REVIEWED
    from operations.selectors import retention_due_cases
    from staff.roles import Role
    from staff.selectors import users_with_role
    from staff.services import notification_send

    today = today or timezone.localdate()
    numbers = [case.number for case in retention_due_cases(today)]
    with transaction.atomic(durable=True):
        audit_event_record(
            event_type=RETENTION_REVIEWED,
            data={"day": today, "due": len(numbers), "cases": numbers[:500]},
        )
        if numbers:
            for user in [*users_with_role(Role.TEAM_LEAD), *users_with_role(Role.AUDITOR)]:
                theirs = len(retention_due_cases(today, user=user))  # of their own sites
                if not theirs:
                    continue
                notification_send(
                    recipient=user,
                    message=_("%(count)d case files are past their retention: decide on them.")
                    % {"count": theirs},
                    link=reverse("operations:retention_due"),
                    dedupe_key=f"retention:{today:%Y-%m}:{user.pk}",
                )
    return len(numbers)

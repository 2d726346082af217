"""The case file: intake of the ticket being served (F9), scanned materials, promised
(容缺) materials, resubmission, the full ID number; and the chain advance, where the drawn
person's decision moves the case (approve to the next step or to approved, return to the
clerk, reject). Above both the hall (counters) and the draws (risk)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.batch import audit_writes_batched
from audit.models import AuditEvent
from audit.services import audit_event_record
from cases import selectors as case_selectors
from cases.notices import case_sms_queue
from cases.transitions import (
    CaseStateError,
    case_audit_schedule,
    case_initial_check,
    case_step_advance,
    case_transition,
)
from cases.uploads import (
    SIGNATURE_PREFIX,
    content_digest,
    scan_display_name,
    upload_check,
    upload_storage_name,
)
from catalog.models import ServiceItem
from counters import selectors as counter_selectors
from counters import services as counter_services
from counters.models import Case, CaseDocument
from langzhong_si.calendar import working_days_after
from langzhong_si.errors import StateConflict
from langzhong_si.identity import (
    credit_code_validate,
    id_number_digest,
    id_number_mask,
    id_number_tail_digest,
    id_number_validate,
    personal_data_decrypt,
    personal_data_encrypt,
    phone_number_validate,
)
from langzhong_si.text import COMMENT_MAX_LENGTH, REASON_MAX_LENGTH, name_clean, text_clean
from risk.models import ReviewTask
from risk.selectors import chain_for_item, conflict_of_interest
from risk.services import case_chain, review_round_open, review_step_open
from risk.transitions import ReviewTaskStateError, review_task_transition
from staff.roles import Role
from staff.selectors import user_has_role
from staff.services import notification_send


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
    comment = text_clean(comment, field=_("Comment"), max_length=COMMENT_MAX_LENGTH)
    if decision != Decision.APPROVE and not comment:
        raise ValidationError(_("Give the reason for returning or rejecting."), code="reason")
    with transaction.atomic(durable=True), audit_writes_batched():
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
    case = Case.objects.select_for_update(of=("self",)).select_related("item").get(pk=task.case_id)
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
        _case_decision_notify(case=case, task=task, decision=decision, reason=comment)
    else:
        case.finished_at = task.decided_at
        case_transition(case=case, to=Case.Status.REJECTED, actor=actor, fields=("finished_at",))
        case_sms_queue(
            case=case,
            event="rejected",
            text=_("Your application %(number)s (%(item)s) was not approved: %(reason)s")
            % {"number": case.number, "item": case.item.name, "reason": comment},
        )
        _case_decision_notify(case=case, task=task, decision=decision, reason=comment)


def _case_decision_notify(*, case: Case, task: ReviewTask, decision: str, reason: str) -> None:
    """A return or a rejection reaches the handling clerk (and the clerk who last
    resubmitted it) and the window leads of the zone it was accepted in, in the decision's
    own transaction. Blind: the notice names the case and the reason, never who decided."""
    if decision == Decision.RETURN:
        text = _("Case %(number)s (%(item)s) was returned for correction: %(reason)s")
    else:
        text = _("Case %(number)s (%(item)s) was rejected: %(reason)s")
    message = text % {"number": case.number, "item": case.item.name, "reason": reason}
    link = reverse("cases:case_detail", args=[case.pk])
    for recipient in case_selectors.case_decision_recipients(case=case):
        notification_send(
            recipient=recipient,
            message=message,
            link=link,
            dedupe_key=f"case-{decision}:{task.pk}:{recipient.pk}",
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


# --- Intake --------------------------------------------------------------------------------


def _status_when_complete(item: ServiceItem) -> str:
    if not item.at_counter:
        return Case.Status.FORWARDED
    if item.risk_level == 0:
        return Case.Status.FINISHED
    return Case.Status.IN_REVIEW


def case_materials_supplied(*, clerk, case_id: int, material_ids: set[int]) -> Case:
    """Record promised materials handed in; once all are in, the case goes on as if it
    had been complete at intake (finished, forwarded or into the review chain)."""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().select_related("item").get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case.status != Case.Status.AWAITING_MATERIALS:
            raise ValidationError(_("This case is not waiting for materials."), code="not_awaiting")
        promised = {row["material_id"] for row in case.checklist if not row["received"]}
        if not material_ids & promised:
            raise ValidationError(
                _("Tick the materials the citizen handed in."), code="no_materials"
            )
        for row in case.checklist:
            if row["material_id"] in material_ids:
                row["received"] = True
        case.save(update_fields=["checklist"])
        audit_event_record(
            event_type="case.materials_supplied",
            actor=clerk,
            obj=case,
            data={
                "materials": sorted(material_ids & promised),
                "names": [r["name"] for r in case.checklist if r["material_id"] in material_ids],
            },
        )
        if any(row["required"] and not row["received"] for row in case.checklist):
            return case
        target = _status_when_complete(case.item)
        fields: tuple[str, ...] = ()
        if target == Case.Status.FINISHED:
            case.finished_at = timezone.now()
            fields = ("finished_at",)
        elif target == Case.Status.IN_REVIEW:
            case.review_chain, case.step_hours = chain_for_item(case.item)
            case.review_round, case.current_step = 1, 1
            fields = ("review_chain", "step_hours", "review_round", "current_step")
        case_transition(case=case, to=target, actor=clerk, fields=fields)
        if target == Case.Status.IN_REVIEW:
            review_step_open(case=case, step=1)
    return case


def cases_deferral_expire() -> int:
    """End every 容缺 case whose promised materials did not arrive in time."""
    ended = 0
    overdue = Case.objects.filter(
        status=Case.Status.AWAITING_MATERIALS, deferred_due__lt=timezone.localdate()
    ).values_list("pk", flat=True)
    for case_id in overdue:
        with transaction.atomic(durable=True):
            case = Case.objects.select_for_update().get(pk=case_id)
            if case.status != Case.Status.AWAITING_MATERIALS:
                continue
            case.finished_at = timezone.now()
            case_transition(
                case=case,
                to=Case.Status.ENDED_UNSUPPLIED,
                actor=None,
                fields=("finished_at",),
                data={"deferred_due": case.deferred_due},
            )
            ended += 1
    return ended


def _guide_snapshot(item: ServiceItem) -> dict:
    materials = list(item.materials.all())
    latest = item.history.order_by("-history_id").values_list("history_id", flat=True).first()
    return {
        "item_history_id": latest,
        "code": item.code,
        "name": item.name,
        "risk_level": item.risk_level,
        "at_counter": item.at_counter,
        "promised_days": item.promised_days,
        "result": item.result,
        "materials": [
            {
                "material_id": m.pk,
                "name": m.name,
                "form": m.form,
                "copies": m.copies,
                "required": m.required,
                "is_key": m.is_key,
            }
            for m in materials
        ],
    }


# What the workbench form carries (secrets.token_urlsafe, counters.forms.IntakeForm).
_INTAKE_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class IntakeRepeated(StateConflict):
    """The same intake form came in again: it already opened `case` (the API answers
    409; the workbench shows that case)."""

    def __init__(self, case: Case):
        super().__init__(
            _("This form was already submitted: it opened case %(number)s.")
            % {"number": case.number},
            code="intake_repeated",
        )
        self.case = case


def _intake_repeat_check(token: str) -> None:
    if token:
        earlier = Case.objects.filter(intake_token=token).first()
        if earlier is not None:
            raise IntakeRepeated(earlier)


class CaseRecused(PermissionDenied):
    """The clerk is the applicant or a declared relative of the applicant."""


def case_clerk_check(*, clerk, case: Case) -> None:
    """Any clerk may continue any case (supply promised materials, correct and resubmit a
    returned one, reprint its papers), except their own application or a declared
    relative's: the counter's recusal, as at intake."""
    if not user_has_role(clerk, Role.CLERK):
        raise PermissionDenied(_("Only a clerk may work on a case at the counter."))
    if conflict_of_interest(user=clerk, case=case):
        raise CaseRecused(
            _("You may not handle your own application or a declared relative's: ask "
              "another clerk to take this case.")
        )  # fmt: skip


# The authorisation letter (授权委托书): a required key material of every item whenever
# an agent appears, the catalog's own row where the guide lists one.
AUTHORISATION_LETTER = "授权委托书"
# Its checklist row where the guide has none: no catalog material, so no material id.
AUTHORISATION_ROW_ID = 0
AUTHORISATION_ROW_NAME = "委托代理人身份证件及授权委托书"


@dataclass(frozen=True)
class Agent:
    """代办人: someone applying on the applicant's behalf."""

    name: str
    id_number: str
    relation: str


@dataclass(frozen=True)
class Employer:
    """单位: the applicant is an employer; the person at the counter handles it for them."""

    credit_code: str
    name: str


def _parties_check(
    *, clerk, item: ServiceItem | None, applicant_digest: str, employer, agent, assisting_staff_id
) -> dict:
    """The Case fields of the employer, the agent and the assisting staff member, each
    checked; a ValidationError names the first thing wrong and nothing is saved."""
    fields: dict = {"applicant_kind": Case.ApplicantKind.PERSON}
    if employer is not None:
        if item is not None and not item.takes_employer:
            raise ValidationError(
                _("This item is for persons only: an employer cannot apply for it."),
                code="employer_not_allowed",
            )
        code = credit_code_validate(employer.credit_code)
        name = name_clean(employer.name, field=_("Employer's name"), max_length=128)
        if not name:
            raise ValidationError(_("Enter the employer's name."), code="employer_name")
        fields.update(
            applicant_kind=Case.ApplicantKind.EMPLOYER,
            employer_credit_code=code,
            employer_name=name,
        )
    if agent is not None:
        name = name_clean(agent.name, field=_("Agent's name"))
        if not name:
            raise ValidationError(_("Enter the agent's name."), code="agent_name")
        number = id_number_validate(agent.id_number)
        digest = id_number_digest(number)
        if digest == applicant_digest:
            raise ValidationError(
                _("The agent and the applicant are the same person: leave the agent out."),
                code="agent_is_applicant",
            )
        if agent.relation not in Case.AgentRelation.values:
            raise ValidationError(
                _("Choose the agent's relation to the applicant."), code="agent_relation"
            )
        fields.update(
            agent_name=name,
            agent_id_encrypted=personal_data_encrypt(number),
            agent_id_digest=digest,
            agent_id_masked=id_number_mask(number),
            agent_relation=agent.relation,
        )
    if assisting_staff_id is not None:
        if not counter_selectors.assisting_staff_choices().filter(pk=assisting_staff_id).exists():
            raise ValidationError(
                _("Choose the hall staff member who helped the citizen."), code="assisting_staff"
            )
        fields["assisting_staff_id"] = assisting_staff_id
    return fields


def _authorisation_apply(checklist: list[dict], *, received: bool) -> list[dict]:
    """With an agent, the authorisation letter becomes a required key material: the
    guide's own row if it lists one, else a row of its own."""
    for row in checklist:
        if AUTHORISATION_LETTER in row["name"]:
            row.update(required=True, is_key=True, received=row["received"] or received)
            return checklist
    return [
        *checklist,
        {
            "material_id": AUTHORISATION_ROW_ID,
            # Catalog data is Chinese whatever the screen language: the catalog's wording.
            "name": AUTHORISATION_ROW_NAME,
            "required": True,
            "is_key": True,
            "received": received,
        },
    ]


def _next_case_number(today) -> str:
    return f"{today:%Y%m%d}{counter_services.next_in_sequence(day=today, key='case'):05d}"


def case_accept(
    *,
    clerk,
    item_id: int,
    applicant_name: str,
    id_number: str,
    received_material_ids: set[int],
    applicant_phone: str = "",
    scans: list[VettedScan] = (),
    defer_missing: bool = False,
    intake_token: str = "",
    employer: Employer | None = None,
    agent: Agent | None = None,
    authorisation_received: bool = False,
    assisting_staff_id: int | None = None,
) -> Case:
    """Open the case for the ticket being served and take exactly one outcome.

    The applicant is a person, or an `employer` (then `applicant_name` and `id_number`
    are its handling person's); an `agent` may act for either, and then the
    authorisation letter is a required key material (`authorisation_received`).
    `assisting_staff_id`: the hall staff member who helped (帮办代办), left out of draws.

    Missing key materials (or any, without `defer_missing`) → notified, not accepted
    (the notice lists them); only non-key materials missing and `defer_missing` →
    accepted with the materials to follow (容缺); otherwise a back-office item →
    forwarded; level 0 → finished on the spot; level 1–3 → submitted to the review
    chain, whose first draw is recorded in the outbox.

    `intake_token` is the workbench form's one-time token: a form that already opened a
    case raises IntakeRepeated naming it (checked first, and guarded by a unique column).
    """
    intake_token = intake_token if _INTAKE_TOKEN.fullmatch(intake_token or "") else ""
    _intake_repeat_check(intake_token)
    number = id_number_validate(id_number)
    applicant_name = name_clean(applicant_name, field=_("Applicant's name"))
    if not applicant_name:
        raise ValidationError(_("Enter the applicant's name."), code="applicant_name")
    applicant_phone = phone_number_validate(applicant_phone)
    digest = id_number_digest(number)
    item = ServiceItem.objects.select_related("category").filter(pk=item_id).first()
    parties = _parties_check(
        clerk=clerk,
        item=item,
        applicant_digest=digest,
        employer=employer,
        agent=agent,
        assisting_staff_id=assisting_staff_id,
    )
    if conflict_of_interest(
        user=clerk, applicant_id_digest=digest, agent_id_digest=parties.get("agent_id_digest", "")
    ):
        # The counter's own recusal: the draws already leave the applicant and their
        # declared relatives out of the review chain; the clerk steps aside too.
        raise ValidationError(
            _("You may not handle your own application or a declared relative's (as "
              "applicant, handling person or agent). Finish this ticket and ask the window "
              "lead to have another clerk serve the citizen."),
            code="recused",
        )  # fmt: skip
    try:
        return _case_open(
            clerk=clerk,
            item_id=item_id,
            applicant_name=applicant_name,
            number=number,
            digest=digest,
            received_material_ids=received_material_ids,
            applicant_phone=applicant_phone,
            scans=scans,
            defer_missing=defer_missing,
            intake_token=intake_token,
            parties=parties,
            authorisation_received=authorisation_received,
        )
    except IntegrityError:
        # Two submissions of one form raced past the check: the database let one in.
        _intake_repeat_check(intake_token)
        raise


def _case_open(
    *,
    clerk,
    item_id: int,
    applicant_name: str,
    number: str,
    digest: str,
    received_material_ids: set[int],
    applicant_phone: str,
    scans,
    defer_missing: bool,
    intake_token: str,
    parties: dict,
    authorisation_received: bool,
) -> Case:
    # Numbered before the transaction, in a statement of its own (no case waits on
    # another's number); an intake refused below leaves a gap in the day's numbers.
    case_number = _next_case_number(timezone.localdate())
    with transaction.atomic(durable=True), audit_writes_batched():
        window, ticket = counter_services.serving_ticket(clerk)
        # Under the ticket's row lock, so a concurrent submission of the form waits here.
        _intake_repeat_check(intake_token)
        item = ServiceItem.objects.prefetch_related("materials").get(pk=item_id, enabled=True)
        # F9 pressed twice, or two requests at once (serialised by the ticket row lock),
        # never opens a second case, and so never a second review chain. A one-time
        # notice does not count: the citizen may return with the material in the same
        # visit. (No database constraint: databases from before this check may hold such
        # pairs already.)
        earlier = (
            Case.objects.filter(ticket=ticket, item=item, applicant_id_digest=digest)
            .exclude(status=Case.Status.NOTIFIED)
            .values_list("number", flat=True)
            .first()
        )
        if earlier:
            raise StateConflict(
                _("This application was already accepted for this ticket as case %(number)s.")
                % {"number": earlier},
                code="duplicate_case",
            )
        guide = _guide_snapshot(item)
        checklist = [
            {
                "material_id": m["material_id"],
                "name": m["name"],
                "required": m["required"],
                "is_key": m["is_key"],
                "received": m["material_id"] in received_material_ids,
            }
            for m in guide["materials"]
        ]
        if parties.get("agent_id_digest"):
            checklist = _authorisation_apply(checklist, received=authorisation_received)
        missing = [row for row in checklist if row["required"] and not row["received"]]
        today = timezone.localdate()
        due_date = working_days_after(today, item.promised_days)
        deferred_due = None
        if missing and (defer_missing and not any(row["is_key"] for row in missing)):
            status = Case.Status.AWAITING_MATERIALS
            deferred_due = min(
                working_days_after(today, settings.DEFERRED_MATERIALS_DAYS), due_date
            )
        elif missing:
            status = Case.Status.NOTIFIED
        else:
            status = _status_when_complete(item)
        case_initial_check(status)
        now = timezone.now()
        chain, step_hours = chain_for_item(item) if status == Case.Status.IN_REVIEW else ([], 0)
        case = Case.objects.create(
            number=case_number,
            ticket=ticket,
            item=item,
            guide_snapshot=guide,
            risk_level=item.risk_level,
            applicant_name=applicant_name,
            applicant_id_encrypted=personal_data_encrypt(number),
            applicant_id_digest=digest,
            applicant_id_masked=id_number_mask(number),
            applicant_id_tail_digest=id_number_tail_digest(number),
            intake_token=intake_token,
            applicant_phone=applicant_phone,
            handler=clerk,
            review_chain=chain,
            step_hours=step_hours or 4,
            checklist=checklist,
            status=status,
            review_round=1 if status == Case.Status.IN_REVIEW else 0,
            current_step=1 if status == Case.Status.IN_REVIEW else 0,
            accepted_at=now,
            due_date=due_date,
            deferred_due=deferred_due,
            finished_at=now if status == Case.Status.FINISHED else None,
            **parties,
        )
        for scan in scans:
            _case_document_store(case=case, scan=scan, clerk=clerk)
        audit_event_record(
            event_type="case.accepted",
            actor=clerk,
            obj=case,
            data={
                "item": item.code,
                "status": status,
                "missing": [row["name"] for row in missing],
                "ticket": ticket.pk,
                # Kinds only: no name or number of anyone goes into the log.
                "applicant_kind": parties["applicant_kind"],
                "agent": bool(parties.get("agent_id_digest")),
                "assisting_staff": parties.get("assisting_staff_id"),
            },
        )
        if status == Case.Status.IN_REVIEW:
            review_step_open(case=case, step=1)
        case_audit_schedule(case)
    return case


@dataclass(frozen=True)
class VettedScan:
    """An uploaded scan that passed cases.uploads.upload_check (stripped of its
    metadata), for one material of the checklist or, with material_id None, a
    supplementary scan. It carries no file name: the stored name is made from the
    checklist."""

    material_id: int | None
    content: bytes
    content_type: str


def _case_document_store(*, case: Case, scan: VettedScan, clerk) -> CaseDocument:
    positions = {row["material_id"]: (n, row["name"]) for n, row in enumerate(case.checklist, 1)}
    if scan.material_id is not None and scan.material_id not in positions:
        raise ValidationError(
            _("A scan was given for a material this item does not list."), code="scan_material"
        )
    position, material_name = positions.get(scan.material_id, (None, ""))
    display_name = scan_display_name(
        position=position,
        material_name=material_name,
        content_type=scan.content_type,
        taken=set(case.documents.values_list("display_name", flat=True)),
    )
    name = default_storage.save(
        upload_storage_name(scan.content, scan.content_type), ContentFile(scan.content)
    )
    document = CaseDocument.objects.create(
        case=case,
        material_id=scan.material_id,
        display_name=display_name,
        file=name,
        content_type=scan.content_type,
        size=len(scan.content),
        sha256=content_digest(scan.content),
        uploaded_by=clerk,
    )
    audit_event_record(
        event_type="case.document_added",
        actor=clerk,
        obj=document,
        data={
            "case": case.pk,
            "name": display_name,
            "sha256": document.sha256,
            "size": document.size,
        },
    )
    return document


def case_correct(
    *,
    clerk,
    case_id: int,
    applicant_name: str,
    applicant_phone: str,
    received_material_ids: set[int],
    id_number: str = "",
    scans: list[VettedScan] = (),
) -> Case:
    """Correct a returned case before it is resubmitted: the applicant's name, mobile
    number and (when typed again) ID number, the materials ticked, and further scans (a
    newer scan of a material stands beside the earlier one). Any clerk but a recused one,
    only while the case is returned; what changed is recorded, the ID number masked."""
    applicant_name = name_clean(applicant_name, field=_("Applicant's name"))
    if not applicant_name:
        raise ValidationError(_("Enter the applicant's name."), code="applicant_name")
    applicant_phone = phone_number_validate(applicant_phone)
    number = id_number_validate(id_number) if (id_number or "").strip() else ""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case.status != Case.Status.RETURNED:
            raise CaseStateError(
                _("Only a case returned for correction can be corrected."), code="not_returned"
            )
        changed: list[str] = []
        if applicant_name != case.applicant_name:
            case.applicant_name = applicant_name
            changed.append("applicant_name")
        if applicant_phone != case.applicant_phone:
            case.applicant_phone = applicant_phone
            changed.append("applicant_phone")
        data: dict = {}
        if number and id_number_digest(number) != case.applicant_id_digest:
            digest = id_number_digest(number)
            if conflict_of_interest(user=clerk, applicant_id_digest=digest):
                raise CaseRecused(
                    _("You may not handle your own application or a declared relative's.")
                )
            data["id_number"] = {"from": case.applicant_id_masked, "to": id_number_mask(number)}
            case.applicant_id_encrypted = personal_data_encrypt(number)
            case.applicant_id_digest = digest
            case.applicant_id_masked = id_number_mask(number)
            case.applicant_id_tail_digest = id_number_tail_digest(number)
            changed += [
                "applicant_id_encrypted",
                "applicant_id_digest",
                "applicant_id_masked",
                "applicant_id_tail_digest",
            ]
        ticked = {row["material_id"] for row in case.checklist if row["received"]}
        added, removed = received_material_ids - ticked, ticked - received_material_ids
        known = {row["material_id"] for row in case.checklist}
        if (added | removed) & known:
            for row in case.checklist:
                row["received"] = row["material_id"] in received_material_ids
            changed.append("checklist")
            data["materials"] = {"added": sorted(added & known), "removed": sorted(removed)}
        if not changed and not scans:
            raise ValidationError(_("Nothing was changed."), code="unchanged")
        if changed:
            case.save(update_fields=changed)
        for scan in scans:
            _case_document_store(case=case, scan=scan, clerk=clerk)
        audit_event_record(
            event_type="case.corrected",
            actor=clerk,
            obj=case,
            data={
                "fields": [f for f in changed if not f.startswith("applicant_id_")]
                + (["id_number"] if "id_number" in data else []),
                "scans": len(scans),
                **data,
            },
        )
    return case


def case_resubmit(*, clerk, case_id: int) -> Case:
    """A clerk resubmits a returned case, once per return: a new round whose steps go
    back to the people who decided them where they still can (risk's pool rule), so a
    resubmission is never a fresh throw of the dice. Any clerk but a recused one; the
    draws leave out every clerk who worked on the case."""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case.status != Case.Status.RETURNED:
            raise CaseStateError(
                _("Only a case returned for correction can be resubmitted."), code="not_returned"
            )
        case.review_round += 1
        case.current_step = 1
        case_transition(
            case=case,
            to=Case.Status.IN_REVIEW,
            actor=clerk,
            fields=("review_round", "current_step"),
        )
        review_round_open(case=case, actor=clerk)
    return case


class PrintedPaper:
    """The papers the counter prints for a case (cases.selectors.case_paper_kind)."""

    NOTICE = "notice"  # 一次性告知书
    COMMITMENT = "commitment"  # 容缺受理承诺书
    RESULT = "result"  # 办结告知书 / the document issued on the spot
    RECEIPT = "receipt"  # 受理回执


def case_paper_printed(*, clerk, case: Case, paper: str) -> None:
    """Printing (or reprinting) a case's paper is recorded with who printed it."""
    case_clerk_check(clerk=clerk, case=case)
    with transaction.atomic():
        audit_event_record(
            event_type="case.paper_printed", actor=clerk, obj=case, data={"paper": paper}
        )


# The papers the applicant may sign on the counter's signature pad, and the neutral name
# each signature is kept under in the case file ("签名-受理回执.png", then "-2"...).
SIGNABLE_PAPERS = {PrintedPaper.RECEIPT: "受理回执", PrintedPaper.COMMITMENT: "容缺承诺书"}


def case_signature_add(*, clerk, case_id: int, paper: str, content: bytes) -> CaseDocument:
    """Keep the applicant's signature of the case's receipt or 容缺 commitment letter,
    captured on the signature pad: vetted like a scan (a PNG by content, size and pixel
    limits, re-encoded without metadata), stored under its SHA-256 in the case file,
    recorded with its hash. Only for the paper the case has now; any clerk but a recused
    one."""
    label = SIGNABLE_PAPERS.get(paper)
    if label is None:
        raise ValidationError(_("Only the receipt or the commitment letter is signed."),
                              code="signature_paper")  # fmt: skip
    content, content_type = upload_check(ContentFile(content, name=_("Signature")))
    if content_type != "image/png":
        raise ValidationError(
            _("A signature from the pad must be a PNG image."), code="signature_type"
        )
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case_selectors.case_paper_kind(case) != paper:
            raise CaseStateError(
                _("This case's paper is no longer the one being signed: print it again."),
                code="signature_paper",
            )
        taken = set(case.documents.values_list("display_name", flat=True))
        display_name, copy = f"{SIGNATURE_PREFIX}{label}.png", 1
        while display_name in taken:
            copy += 1
            display_name = f"{SIGNATURE_PREFIX}{label}-{copy}.png"
        name = default_storage.save(
            upload_storage_name(content, content_type), ContentFile(content)
        )
        document = CaseDocument.objects.create(
            case=case,
            material_id=None,
            display_name=display_name,
            file=name,
            content_type=content_type,
            size=len(content),
            sha256=content_digest(content),
            uploaded_by=clerk,
        )
        audit_event_record(
            event_type="case.signature_added",
            actor=clerk,
            obj=document,
            data={
                "case": case.pk,
                "paper": paper,
                "name": display_name,
                "sha256": document.sha256,
                "size": document.size,
            },
        )
    return document


def case_opened(*, viewer, case: Case) -> None:
    """A clerk other than the handling one opened the case page: a personal-data access
    (the case's applicant, masked ID number and materials), recorded."""
    if viewer.pk == case.handler_id:
        return
    with transaction.atomic():
        audit_event_record(event_type="personal_data.case_opened", actor=viewer, obj=case)


def case_search(*, clerk, query: str) -> case_selectors.CaseSearch:
    """The counter's case search (case number, the ID number's last 4-6 characters,
    name). Every search is an event: what was searched, masked, and how many cases
    matched."""
    if not user_has_role(clerk, Role.CLERK):
        raise PermissionDenied(_("Only a clerk may search the cases."))
    result = case_selectors.cases_matching(query)
    if result.terms:
        with transaction.atomic():
            audit_event_record(
                event_type="case.searched",
                actor=clerk,
                data={"query": result.masked_terms, "results": len(result.cases)},
            )
    return result


def case_document_viewed(*, document: CaseDocument, viewer) -> None:
    """Opening a scan is a personal-data access: who, when, which case."""
    with transaction.atomic():
        audit_event_record(
            event_type="personal_data.document_viewed",
            actor=viewer,
            obj=document,
            data={"case": document.case_id},
        )


def case_id_number_reveal(*, case: Case, viewer, reason: str) -> str:
    """The full ID number, for a stated reason, logged with viewer and citizen."""
    allowed = case.handler_id == viewer.pk or user_has_role(viewer, Role.AUDITOR)
    if not allowed:  # checked first: nobody else learns anything, not even "give a reason"
        raise PermissionDenied(_("Only the handling clerk or an auditor may see the full number."))
    reason = text_clean(reason, field=_("Reason"), max_length=REASON_MAX_LENGTH)
    if len(reason) < 2:
        raise ValidationError(_("State why you need the full ID number."), code="reason")
    if not case.applicant_id_encrypted:  # destroyed after its archive retention
        raise ValidationError(_("This case file was destroyed."), code="destroyed")
    with transaction.atomic():
        audit_event_record(
            event_type="personal_data.id_revealed",
            actor=viewer,
            obj=case,
            data={"case": case.number, "reason": reason, "applicant": case.applicant_id_digest},
        )
    return personal_data_decrypt(case.applicant_id_encrypted)

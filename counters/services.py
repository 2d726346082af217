from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from catalog.models import ServiceItem
from counters.calendar import working_days_after
from counters.models import Case, CaseDocument, NumberSequence, Queue, Ticket, Window
from counters.transitions import case_transition
from counters.uploads import content_digest, upload_storage_name
from langzhong_si.identity import (
    id_number_digest,
    id_number_mask,
    id_number_validate,
    personal_data_encrypt,
)
from risk.models import Draw
from risk.selectors import chain_for_item
from risk.services import draw_record, review_step_open

W = Window.State


def _next_in_sequence(*, day, key: str) -> int:
    """The next number of a per-day sequence; the row lock serialises concurrent takers."""
    sequence, _created = NumberSequence.objects.select_for_update().get_or_create(day=day, key=key)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


# --- Tickets and the hall dispatch (random 1) -------------------------------------------


def ticket_issue(
    *, item: ServiceItem | None, is_consultation: bool = False, id_number: str = ""
) -> Ticket:
    """Issue the next queue number and hand it to a ready clerk if there is one."""
    digest = id_number_digest(id_number_validate(id_number)) if id_number else ""
    if item is None and not is_consultation:
        raise ValidationError(_("Choose a service item or consultation."), code="item")
    queue = Queue.BACK_OFFICE if item is not None and not item.at_counter else Queue.HALL
    with transaction.atomic(durable=True):
        today = timezone.localdate()
        ticket = Ticket.objects.create(
            service_date=today,
            queue=queue,
            sequence=_next_in_sequence(day=today, key=f"ticket-{queue}"),
            item=item,
            is_consultation=is_consultation,
            applicant_id_digest=digest,
            issued_at=timezone.now(),
        )
        audit_event_record(
            event_type="ticket.issued",
            obj=ticket,
            data={"number": ticket.display_number, "item": item.code if item else ""},
        )
        _hall_dispatch(queue=queue)
    return ticket


def _hall_dispatch(*, queue: str) -> int:
    """Pair waiting tickets with clerks drawn at random among the ready windows.

    Tickets and windows are locked with SKIP LOCKED, so concurrent dispatches never
    hand one ticket to two clerks nor two tickets to one clerk. Returns the pairs made.
    """
    paired = 0
    today = timezone.localdate()
    while True:
        ticket = (
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(service_date=today, queue=queue, status=Ticket.Status.WAITING)
            .order_by("-is_priority", "issued_at", "pk")
            .first()
        )
        if ticket is None:
            return paired
        ready = list(
            Window.objects.select_for_update(skip_locked=True)
            .filter(queue=queue, state=W.READY, clerk__isnull=False)
            .order_by("pk")
        )
        if not ready:
            return paired
        by_clerk = {window.clerk_id: window for window in ready}
        draw = draw_record(
            purpose=Draw.Purpose.TICKET_DISPATCH,
            subject=f"ticket:{ticket.pk}",
            pool=list(by_clerk),
            excluded=[],
        )
        window = by_clerk[draw.chosen_id]
        now = timezone.now()
        ticket.status = Ticket.Status.SERVING
        ticket.window = window
        ticket.clerk_id = window.clerk_id
        ticket.called_at = now
        ticket.save(update_fields=["status", "window", "clerk", "called_at"])
        window.state = W.SERVING
        window.state_since = now
        window.current_ticket = ticket
        window.save(update_fields=["state", "state_since", "current_ticket"])
        audit_event_record(
            event_type="ticket.called",
            obj=ticket,
            data={"window": window.number, "clerk": window.clerk_id, "draw": draw.pk},
        )
        paired += 1


def hall_dispatch_sweep() -> int:
    """Pair any ticket still waiting while a window is ready (a dispatch that skipped a
    row locked by a concurrent one); run by beat every few seconds."""
    paired = 0
    for queue in Queue:
        with transaction.atomic(durable=True):
            paired += _hall_dispatch(queue=queue)
    return paired


def _locked_window_of(clerk) -> Window:
    window = Window.objects.select_for_update().filter(clerk=clerk).first()
    if window is None:
        raise ValidationError(_("Sign on to a window first."), code="no_window")
    return window


def window_sign_on(*, clerk, window_id: int) -> Window:
    with transaction.atomic(durable=True):
        if Window.objects.filter(clerk=clerk).exclude(pk=window_id).exists():
            raise ValidationError(_("You are already signed on to another window."))
        window = Window.objects.select_for_update().get(pk=window_id)
        if window.clerk_id not in (None, clerk.pk):
            raise ValidationError(_("Another clerk is signed on to this window."))
        window.clerk = clerk
        window.state = W.PAUSED
        window.state_since = timezone.now()
        window.save(update_fields=["clerk", "state", "state_since"])
        audit_event_record(event_type="window.signed_on", actor=clerk, obj=window)
    return window


def window_sign_off(*, clerk) -> None:
    with transaction.atomic(durable=True):
        window = _locked_window_of(clerk)
        if window.state == W.SERVING:
            raise ValidationError(_("Finish the current ticket before signing off."))
        window.clerk = None
        window.state = W.OFFLINE
        window.state_since = timezone.now()
        window.save(update_fields=["clerk", "state", "state_since"])
        audit_event_record(event_type="window.signed_off", actor=clerk, obj=window)


def window_declare_ready(*, clerk) -> Window:
    """The clerk is ready: the system, not the clerk, decides which ticket comes."""
    with transaction.atomic(durable=True):
        window = _locked_window_of(clerk)
        if window.state == W.SERVING:
            raise ValidationError(_("Finish the current ticket first."), code="serving")
        if window.state != W.READY:
            window.state = W.READY
            window.state_since = timezone.now()
            window.pause_reason = ""
            window.save(update_fields=["state", "state_since", "pause_reason"])
            audit_event_record(event_type="window.ready", actor=clerk, obj=window)
        _hall_dispatch(queue=window.queue)
    window.refresh_from_db()
    return window


def window_pause(*, clerk, reason: str) -> Window:
    with transaction.atomic(durable=True):
        window = _locked_window_of(clerk)
        if window.state == W.SERVING:
            raise ValidationError(_("Finish the current ticket first."), code="serving")
        window.state = W.PAUSED
        window.state_since = timezone.now()
        window.pause_reason = reason[:64]
        window.save(update_fields=["state", "state_since", "pause_reason"])
        audit_event_record(
            event_type="window.paused", actor=clerk, obj=window, data={"reason": reason}
        )
    return window


def _serving_ticket(clerk) -> tuple[Window, Ticket]:
    window = _locked_window_of(clerk)
    if window.state != W.SERVING:
        raise ValidationError(_("No ticket is being served at your window."), code="not_serving")
    ticket = Ticket.objects.select_for_update().get(pk=window.current_ticket_id)
    return window, ticket


def _window_release(window: Window, ticket: Ticket, *, status: str) -> None:
    now = timezone.now()
    ticket.status = status
    ticket.finished_at = now
    ticket.save(update_fields=["status", "finished_at"])
    window.state = W.PAUSED
    window.state_since = now
    window.current_ticket = None
    window.save(update_fields=["state", "state_since", "current_ticket"])


MAX_RECALLS = 3


def ticket_recall(*, clerk) -> Ticket:
    with transaction.atomic(durable=True):
        window, ticket = _serving_ticket(clerk)
        if ticket.recall_count >= MAX_RECALLS:
            raise ValidationError(
                _("This ticket has been recalled %(n)d times: record a no-show.")
                % {"n": MAX_RECALLS},
                code="recall_limit",
            )
        ticket.recall_count += 1
        ticket.called_at = timezone.now()
        ticket.save(update_fields=["recall_count", "called_at"])
        audit_event_record(
            event_type="ticket.recalled",
            actor=clerk,
            obj=ticket,
            data={"window": window.number, "recall": ticket.recall_count},
        )
    return ticket


def ticket_no_show(*, clerk) -> Ticket:
    with transaction.atomic(durable=True):
        window, ticket = _serving_ticket(clerk)
        if ticket.cases.exists():
            raise ValidationError(_("A case was opened for this ticket: finish it instead."))
        _window_release(window, ticket, status=Ticket.Status.NO_SHOW)
        audit_event_record(
            event_type="ticket.no_show",
            actor=clerk,
            obj=ticket,
            data={"window": window.number, "recalls": ticket.recall_count},
        )
    return ticket


def ticket_finish(*, clerk) -> Ticket:
    with transaction.atomic(durable=True):
        window, ticket = _serving_ticket(clerk)
        _window_release(window, ticket, status=Ticket.Status.DONE)
        audit_event_record(
            event_type="ticket.finished", actor=clerk, obj=ticket, data={"window": window.number}
        )
    return ticket


# --- Intake --------------------------------------------------------------------------------


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


def _next_case_number(today) -> str:
    return f"{today:%Y%m%d}{_next_in_sequence(day=today, key='case'):05d}"


def case_accept(
    *,
    clerk,
    item_id: int,
    applicant_name: str,
    id_number: str,
    received_material_ids: set[int],
    applicant_phone: str = "",
    scans: list[VettedScan] = (),
) -> Case:
    """Open the case for the ticket being served and take exactly one outcome.

    Missing required materials → notified, not accepted (the notice lists them);
    a back-office item → forwarded; level 0 → finished on the spot; level 1–3 →
    submitted to the review chain, whose first draw is recorded in the outbox.
    """
    number = id_number_validate(id_number)
    applicant_name = applicant_name.strip()
    if not applicant_name:
        raise ValidationError(_("Enter the applicant's name."), code="applicant_name")
    applicant_phone = applicant_phone.strip()
    if applicant_phone and not re.fullmatch(r"1\d{10}", applicant_phone):
        raise ValidationError(_("A mobile number has 11 digits and starts with 1."), code="phone")
    with transaction.atomic(durable=True):
        window, ticket = _serving_ticket(clerk)
        item = ServiceItem.objects.prefetch_related("materials").get(pk=item_id, enabled=True)
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
        missing = [row["name"] for row in checklist if row["required"] and not row["received"]]
        now = timezone.now()
        if missing:
            status = Case.Status.NOTIFIED
        elif not item.at_counter:
            status = Case.Status.FORWARDED
        elif item.risk_level == 0:
            status = Case.Status.FINISHED
        else:
            status = Case.Status.IN_REVIEW
        chain, step_hours = chain_for_item(item) if status == Case.Status.IN_REVIEW else ([], 0)
        case = Case.objects.create(
            number=_next_case_number(timezone.localdate()),
            ticket=ticket,
            item=item,
            guide_snapshot=guide,
            risk_level=item.risk_level,
            applicant_name=applicant_name,
            applicant_id_encrypted=personal_data_encrypt(number),
            applicant_id_digest=id_number_digest(number),
            applicant_id_masked=id_number_mask(number),
            applicant_phone=applicant_phone,
            handler=clerk,
            review_chain=chain,
            step_hours=step_hours or 4,
            checklist=checklist,
            status=status,
            review_round=1 if status == Case.Status.IN_REVIEW else 0,
            current_step=1 if status == Case.Status.IN_REVIEW else 0,
            accepted_at=now,
            due_date=working_days_after(timezone.localdate(), item.promised_days),
            finished_at=now if status == Case.Status.FINISHED else None,
        )
        for scan in scans:
            _case_document_store(case=case, scan=scan, clerk=clerk)
        audit_event_record(
            event_type="case.accepted",
            actor=clerk,
            obj=case,
            data={"item": item.code, "status": status, "missing": missing, "ticket": ticket.pk},
        )
        if status == Case.Status.IN_REVIEW:
            review_step_open(case=case, step=1)
    return case


@dataclass(frozen=True)
class VettedScan:
    """An uploaded scan that passed counters.uploads.upload_check."""

    material_name: str
    content: bytes
    content_type: str


def _case_document_store(*, case: Case, scan: VettedScan, clerk) -> CaseDocument:
    name = default_storage.save(upload_storage_name(scan.content_type), ContentFile(scan.content))
    document = CaseDocument.objects.create(
        case=case,
        material_name=scan.material_name[:128],
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
        data={"case": case.pk, "sha256": document.sha256, "size": document.size},
    )
    return document


def case_resubmit(*, clerk, case_id: int) -> Case:
    """The handling clerk resubmits a returned case: a new round with fresh draws."""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.handler_id != clerk.pk:
            raise PermissionDenied(_("Only the handling clerk may resubmit this case."))
        case.review_round += 1
        case.current_step = 1
        case_transition(
            case=case,
            to=Case.Status.IN_REVIEW,
            actor=clerk,
            fields=("review_round", "current_step"),
        )
        review_step_open(case=case, step=1)
    return case


def case_document_viewed(*, document: CaseDocument, viewer) -> None:
    """Opening a scan is a personal-data access: who, when, which case."""
    with transaction.atomic():
        audit_event_record(
            event_type="personal_data.document_viewed",
            actor=viewer,
            obj=document,
            data={"case": document.case_id},
        )

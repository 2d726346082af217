"""A case file's scans stored (for intake and corrections) and opened, and its full ID
number revealed: each a recorded event."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from counters.models import Case, CaseDocument
from langzhong_si.identity import personal_data_decrypt
from langzhong_si.text import REASON_MAX_LENGTH, text_clean
from scans.uploads import content_digest, scan_display_name, upload_storage_name
from staff.roles import Role
from staff.selectors import user_has_role


@dataclass(frozen=True)
class VettedScan:
    """An uploaded scan that passed scans.uploads.upload_check (stripped of its
    metadata), for one material of the checklist or, with material_id None, a
    supplementary scan. It carries no file name: the stored name is made from the
    checklist."""

    material_id: int | None
    content: bytes
    content_type: str


def case_document_store(*, case: Case, scan: VettedScan, clerk) -> CaseDocument:
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

"""The counter's papers for a case: printing recorded, and the applicant's signature
from the pad kept in the case file."""

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from cases import selectors as case_selectors
from cases.services import case_clerk_check
from cases.transitions import CaseStateError
from counters.models import Case, CaseDocument
from scans.uploads import SIGNATURE_PREFIX, content_digest, upload_check, upload_storage_name


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

"""Inspection (稽核): the auditors record results; e-archive exports are on the record."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Finding
from audit.services import audit_event_record
from audit.states import state_move
from langzhong_si.errors import StateConflict
from langzhong_si.text import COMMENT_MAX_LENGTH, text_clean
from staff.roles import Role
from staff.selectors import user_has_role

# A finding is inspected once: from "not yet inspected" to its result, never again.
FINDING_TRANSITIONS = {
    "": {result: "audit.inspected" for result in ("no_issue", "error", "irregularity")},
    "no_issue": {},
    "error": {},
    "irregularity": {},
}


def _finding_refusal(source: str, target: str) -> StateConflict:
    if source:
        return StateConflict(_("This finding has already been inspected."), code="done")
    return StateConflict(_("Choose a result."), code="result")


def finding_inspect(
    *, finding_id: int, auditor, result: str, error_kind: str = "", comment: str = ""
):
    """An auditor records the result of re-inspecting a finding or a sampled case, once."""

    if not user_has_role(auditor, Role.AUDITOR):
        raise PermissionDenied(_("Only an auditor records inspection results."))
    if result not in (Finding.Result.NO_ISSUE, Finding.Result.ERROR, Finding.Result.IRREGULARITY):
        raise ValidationError(_("Choose a result."), code="result")
    error_kind = text_clean(error_kind, field=_("Kind of error"), max_length=64)
    comment = text_clean(comment, field=_("Comment"), max_length=COMMENT_MAX_LENGTH)
    if result == Finding.Result.ERROR and not error_kind.strip():
        raise ValidationError(_("Name the kind of error."), code="error_kind")
    with transaction.atomic(durable=True):
        finding = Finding.objects.select_for_update().get(pk=finding_id)
        if finding.subject_id == auditor.pk:  # an after-hours sign-in of their own, say
            raise PermissionDenied(_("A finding about yourself is inspected by another auditor."))
        finding.error_kind = error_kind
        finding.comment = comment
        finding.inspected_by = auditor
        finding.inspected_at = timezone.now()
        state_move(
            obj=finding, field="result", table=FINDING_TRANSITIONS, to=result, actor=auditor,
            refusal=_finding_refusal,
            fields=("error_kind", "comment", "inspected_by", "inspected_at"),
            data={"error_kind": error_kind},
        )  # fmt: skip
    return finding


def case_archive_exported(*, case, viewer) -> None:
    with transaction.atomic():
        audit_event_record(
            event_type="personal_data.archive_exported",
            actor=viewer,
            obj=case,
            data={"case": case.number},
        )

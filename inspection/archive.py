"""The paperless case file (电子档案): one case as a ZIP with a manifest of SHA-256 hashes
and a printable summary page."""

import hashlib
import io
import json
import zipfile

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils import translation

from audit.models import AuditEvent
from draws.models import Draw
from ratings.models import Rating
from risk.models import ReviewTask, StepRole


def case_archive_contents(case) -> dict:

    tasks = list(
        ReviewTask.objects.filter(case=case)
        .select_related("assignee__staff_profile")
        .order_by("review_round", "step", "attempt")
    )
    draw_ids = [task.draw_id for task in tasks if task.draw_id]
    return {
        "case": {
            "number": case.number,
            "item": {"code": case.item.code, "name": case.item.name},
            "guide_at_acceptance": case.guide_snapshot,
            "risk_level": case.risk_level,
            "review_chain": case.review_chain,
            "applicant": {
                "name": case.applicant_name,
                "id_number_masked": case.applicant_id_masked,
            },
            "handler": case.handler.staff_profile.employee_number,
            "checklist": case.checklist,
            "status": case.status,
            "accepted_at": case.accepted_at,
            "due_date": case.due_date,
            "deferred_due": case.deferred_due,
            "finished_at": case.finished_at,
            "retention": case.item.retention,
        },
        "decisions": [
            {
                "round": task.review_round,
                "step": task.step,
                "role": task.role,
                "attempt": task.attempt,
                "status": task.status,
                "person": task.assignee.staff_profile.employee_number if task.assignee else None,
                "decided_at": task.decided_at,
                "comment": task.comment,
            }
            for task in tasks
        ],
        "draws": list(
            Draw.objects.filter(pk__in=draw_ids).values(
                "day", "number", "purpose", "subject", "pool", "excluded", "chosen", "drawn_at"
            )
        ),
        "ratings": list(
            case.ticket.ratings.values("sequence", "level", "reason", "created_at")
            if case.ticket_id
            else []
        ),
        "events": list(
            AuditEvent.objects.filter(object_type="counters.case", object_id=str(case.pk)).values(
                "position", "occurred_at", "event_type", "data", "hash"
            )
        ),
    }


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def case_archive_summary(case, contents: dict) -> str:
    """The printable page, in the hall's language (settings.LANGUAGE_CODE) whoever
    exports it: the archive is the agency's record, not the reader's screen."""
    with translation.override(settings.LANGUAGE_CODE):
        decisions = [
            {
                **decision,
                "role_label": _label(StepRole, decision["role"]),
                "status_label": _label(ReviewTask.Status, decision["status"]),
            }
            for decision in contents["decisions"]
        ]
        return render_to_string(
            "audit/archive_summary.html",
            {
                "case": case,
                "chain": [_label(StepRole, role) for role in case.review_chain],
                "decisions": decisions,
                "ratings": [
                    {**rating, "level_label": _label(Rating.Level, rating["level"])}
                    for rating in contents["ratings"]
                ],
            },
        )


def case_archive_zip(case) -> bytes:
    """The ZIP: case.json, summary.html, every scan, and manifest.json listing each
    file's SHA-256 and size."""
    files: dict[str, bytes] = {}
    contents = case_archive_contents(case)
    files["case.json"] = json.dumps(
        contents, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
    ).encode()
    files["summary.html"] = case_archive_summary(case, contents).encode()
    # A case file destroyed under a retention decision has no scan files left.
    for document in case.documents.exclude(file="").order_by("pk"):
        with document.file.open("rb") as handle:
            # The neutral checklist name (unique per case), never the uploaded file's.
            files[f"scans/{document.display_name}"] = handle.read()
    manifest = [
        {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for path, data in files.items()
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(
            "manifest.json", json.dumps({"case": case.number, "files": manifest}, indent=2)
        )
    return buffer.getvalue()

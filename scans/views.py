from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from counters.models import CaseDocument
from scans import selectors, services
from scans.scoping import cases_in_scope, scope_writes_refused


@login_required
def document_download(request, document_id: int):
    """A scan, only for its case's chain, always as an attachment, and logged."""
    try:
        document = selectors.document_for_viewer(user=request.user, document_id=document_id)
    except CaseDocument.DoesNotExist:
        raise Http404 from None
    services.case_document_viewed(document=document, viewer=request.user)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{document.case.number}-{document.display_name}",
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@scope_writes_refused
@login_required
def case_reveal_id(request, case_id: int):
    """The full ID number for a stated reason (handling clerk or auditor), of a case
    within the viewer's scope only: any other case is a 404."""
    case = get_object_or_404(cases_in_scope(request.user).select_related("item"), pk=case_id)
    try:
        number = services.case_id_number_reveal(
            case=case, viewer=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        return render(
            request,
            "cases/id_reveal.html",
            {"case": case, "error": " ".join(error.messages)},
            status=400,
        )
    response = render(request, "cases/id_reveal.html", {"case": case, "number": number})
    response["Cache-Control"] = "no-store"
    return response

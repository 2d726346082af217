import base64

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import selectors as case_selectors
from cases.views import counter_case
from counters.models import Case
from langzhong_si.qr import qr_svg
from papers import selectors, services
from papers.services import PrintedPaper
from scans.scoping import scope_writes_refused
from sites.selectors import site_contact
from staff.decorators import role_required
from staff.roles import Role

_PAPER_TEMPLATES = {
    PrintedPaper.NOTICE: "cases/papers/notice.html",
    PrintedPaper.COMMITMENT: "cases/papers/commitment.html",
    PrintedPaper.RECEIPT: "cases/papers/receipt.html",
}


@role_required(Role.CLERK)
def case_receipt(request, case_id: int):
    """The case's printable paper, for any clerk to print or reprint (recorded): the
    one-time notice (一次性告知书) listing every missing material, the 容缺 commitment
    letter (materials promised, due date, signatures), the result of an item finished on
    the spot (the item's own template, or its kind's: a completion notice or the record of
    a document issued), or the acceptance receipt."""
    case = counter_case(request, case_id)
    paper = case_selectors.case_paper_kind(case)
    try:
        services.case_paper_printed(clerk=request.user, case=case, paper=paper)
    except PermissionDenied as error:
        messages.error(request, str(error))
        return redirect("cases:case_detail", case_id=case.pk)
    progress_url = request.build_absolute_uri(reverse("cases:progress") + f"?case={case.number}")
    context = {
        "case": case,
        "paper": paper,
        "missing": [row for row in case.checklist if row["required"] and not row["received"]],
        "clerk_number": case.handler.staff_profile.employee_number,
        "printed_by_number": request.user.staff_profile.employee_number,
        "qr_svg": mark_safe(qr_svg(progress_url).decode()),  # noqa: S308 - generated SVG, no input
        "progress_url": progress_url,
        "hall": site_contact(case.site),
        "result_text": case.guide_snapshot.get("result") or case.item.result,
        "signature": _signature_for_paper(case, paper),
    }
    if paper == PrintedPaper.RESULT:
        template = [
            f"cases/papers/results/{case.guide_snapshot.get('code', case.item.code)}.html",
            f"cases/papers/results/{selectors.result_paper_kind(case)}.html",
        ]
    else:
        template = _PAPER_TEMPLATES[paper]
    return render(request, template, context)


def _signature_for_paper(case: Case, paper: str) -> dict | None:
    """The applicant's signature of this paper, inline (a data: URL: the page's CSP
    allows no other image source, and the PNG is a few kilobytes)."""
    label = services.SIGNABLE_PAPERS.get(paper)
    document = selectors.case_paper_signature(case, label) if label else None
    if document is None:
        return None
    with document.file.open("rb") as file:
        content = file.read()
    return {
        "document": document,
        "data_url": "data:image/png;base64," + base64.b64encode(content).decode("ascii"),
    }


@require_POST
@scope_writes_refused
@role_required(Role.CLERK)
def case_signature(request, case_id: int):
    """The applicant's signature of the receipt or commitment letter, from the pad (the
    page's static/js/paper_signature.js posts it): kept in the case file with its hash."""
    case = counter_case(request, case_id)
    upload = request.FILES.get("signature")
    if upload is None:
        return JsonResponse({"ok": False, "error": _("No signature was sent.")}, status=400)
    try:
        document = services.case_signature_add(
            clerk=request.user,
            case_id=case.pk,
            paper=request.POST.get("paper", ""),
            content=upload.read(settings.UPLOAD_MAX_BYTES + 1),
        )
    except PermissionDenied as error:
        return JsonResponse({"ok": False, "error": str(error)}, status=403)
    except ValidationError as error:
        return JsonResponse({"ok": False, "error": " ".join(error.messages)}, status=400)
    return JsonResponse({"ok": True, "name": document.display_name, "sha256": document.sha256})

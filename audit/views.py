from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from audit import selectors, services
from audit.archive import case_archive_zip
from audit.models import Finding
from staff.decorators import role_required
from staff.roles import Role


@role_required(Role.AUDITOR)
def finding_queue(request):
    return render(request, "audit/queue.html", {"findings": selectors.finding_queue()})


@role_required(Role.AUDITOR)
def finding_detail(request, finding_id: int):
    try:
        finding = selectors.finding_detail(finding_id)
    except Finding.DoesNotExist:
        raise Http404 from None
    if request.method == "POST":
        try:
            services.finding_inspect(
                finding_id=finding.pk,
                auditor=request.user,
                result=request.POST.get("result", ""),
                error_kind=request.POST.get("error_kind", ""),
                comment=request.POST.get("comment", ""),
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("audit:finding_detail", finding_id=finding.pk)
        return redirect("audit:finding_queue")
    return render(
        request, "audit/finding.html", {"finding": finding, "results": Finding.Result.choices[1:]}
    )


@role_required(Role.AUDITOR, Role.TEAM_LEAD)
def case_archive(request, case_id: int):
    """Download one case's e-archive; the export is itself a personal-data access event."""
    from counters.models import Case

    try:
        case = Case.objects.select_related("item", "handler__staff_profile").get(pk=case_id)
    except Case.DoesNotExist:
        raise Http404 from None
    data = case_archive_zip(case)
    services.case_archive_exported(case=case, viewer=request.user)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{case.number}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

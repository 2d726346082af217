from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from audit import chain as audit_chain
from audit import selectors as audit_selectors
from audit import services as audit_services
from audit.kinds import event_kinds
from audit.models import Finding
from inspection import selectors, services
from inspection.archive import case_archive_zip
from langzhong_si.dates import date_parse
from scans.scoping import cases_in_scope, scope_writes_refused
from staff.decorators import role_required
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

# The city-level viewer reads every agency's findings and archives, and changes nothing.


@role_required(Role.AUDITOR, Role.CITY_VIEWER)
def finding_queue(request):
    return render(
        request, "audit/queue.html", {"findings": selectors.finding_queue(user=request.user)}
    )


@scope_writes_refused
@role_required(Role.AUDITOR, Role.CITY_VIEWER)
def finding_detail(request, finding_id: int):
    try:
        finding = selectors.finding_detail(user=request.user, finding_id=finding_id)
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
        request,
        "audit/finding.html",
        {
            "finding": finding,
            "results": Finding.Result.choices[1:],
            "may_inspect": user_has_role(request.user, Role.AUDITOR)
            and not scope_of(request.user).read_only
            and finding.subject_id != request.user.pk,
        },
    )


@role_required(Role.AUDITOR, Role.TEAM_LEAD)
def case_archive(request, case_id: int):
    """Download one case's e-archive (a case of the viewer's agency; another's is a
    404); the export is itself a personal-data access event. Not the city-level
    viewer's: a roll-up of figures, not citizens' files."""
    case = get_object_or_404(
        cases_in_scope(request.user).select_related("item", "handler__staff_profile"),
        pk=case_id,
    )
    data = case_archive_zip(case)
    services.case_archive_exported(case=case, viewer=request.user)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{case.number}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _log_filters(request) -> dict:
    """The audit log's filters from the query; a date outside the accepted range or
    written wrongly is refused with a message and left out."""
    filters = {
        "event_type": request.GET.get("type", "").strip()[:64],
        "person": request.GET.get("person", "").strip()[:150],
    }
    for name, key, label in (("since", "from", _("From")), ("until", "to", _("To"))):
        value = request.GET.get(key, "").strip()
        filters[name] = None
        if value:
            try:
                filters[name] = date_parse(value)
            except ValidationError as error:
                # Both dates can be wrong in the same way: each message names its field.
                messages.error(request, f"{label}: {error.messages[0]}")
    return filters


@role_required(Role.AUDIT_ADMINISTRATOR)
def audit_log(request):
    """The audit administrator reads the tamper-evident log (and nothing else); the
    system and security administrators cannot open it."""
    try:
        before = int(request.GET.get("before") or 0) or None
    except ValueError:
        before = None
    filters = _log_filters(request)
    # The audit administrator reads their agency's events and the deployment-wide ones
    # (the sequencer's, set-up commands'); another agency's never.
    scope = scope_of(request.user)
    events = audit_selectors.audit_log_page(
        before=before,
        agency_ids=None if scope.everything else scope.agency_ids,
        deployment_wide=True,
        **filters,
    )
    with transaction.atomic():  # reading the log is itself on the record
        audit_services.audit_event_record(
            event_type="audit.log_read",
            actor=request.user,
            data={
                "type": filters["event_type"],
                "person": filters["person"],
                "from": filters["since"],
                "to": filters["until"],
                "before": before,
                "verify": bool(request.GET.get("verify")),
            },
        )
    query = {
        key: value
        for key, value in (
            ("type", filters["event_type"]),
            ("person", filters["person"]),
            ("from", filters["since"] and f"{filters['since']:%Y-%m-%d}"),
            ("to", filters["until"] and f"{filters['until']:%Y-%m-%d}"),
        )
        if value
    }
    return render(
        request,
        "audit/log.html",
        {
            "rows": selectors.audit_log_rows(events),
            "kinds": sorted(event_kinds().items(), key=lambda kind: str(kind[1])),
            "filters": filters,
            "query": urlencode(query),
            "next_before": events[-1].pk if len(events) == 100 else None,
            "head": audit_services.audit_chain_head(),
            "chain": audit_chain.audit_chain_status(),
            # The page checks the exported heads too, as verify_audit_log does.
            "broken": audit_services.audit_log_verify(heads=audit_services.audit_exported_heads())
            if request.GET.get("verify")
            else None,
            "verified": bool(request.GET.get("verify")),
        },
    )

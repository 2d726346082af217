import hmac
import ipaddress

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseNotFound,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from evaluation.views import LIVE_ROLES
from langzhong_si.clientip import client_ip
from operations import health, services
from operations.metrics import metrics_exposition
from operations.selectors import hall_banner
from staff.decorators import role_required
from staff.roles import Role


@never_cache
@require_GET
def healthz(request):
    """The process is alive and answering (no dependency is consulted)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Each dependency's state; 503 when any is not ready."""
    body = health.as_json(health.readiness())
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )


@never_cache
@require_GET
def metrics(request):
    """Prometheus' scrape: only from METRICS_ALLOWED_NETWORKS or with METRICS_TOKEN."""
    if not _metrics_allowed(request):
        # As if it did not exist: a stranger learns nothing, not even that it is here.
        return HttpResponseNotFound()
    return HttpResponse(metrics_exposition(), content_type="text/plain; version=0.0.4")


@role_required(*LIVE_ROLES)
@require_GET
def hall_banner_view(request):
    """The live hall's red banner (refreshed by htmx): background work stopped, or the
    restore drill failed or overdue."""
    return render(request, "operations/_banner.html", {"problems": hall_banner()})


# --- Archive retention: the team lead's and the auditor's destruction screens -----------


@role_required(Role.TEAM_LEAD, Role.AUDITOR)
def retention_due(request):
    """Case files past retention (propose) and proposals awaiting a second person."""
    from operations.selectors import destruction_decisions_pending, retention_due_cases

    return render(
        request,
        "operations/retention_due.html",
        {
            "due": retention_due_cases(limit=200, user=request.user),
            "pending": destruction_decisions_pending(request.user),
        },
    )


@role_required(Role.TEAM_LEAD, Role.AUDITOR)
def retention_history(request):
    from operations.selectors import destruction_decisions_history

    return render(
        request,
        "operations/retention_history.html",
        {"decisions": destruction_decisions_history(request.user)},
    )


def _retention_action(service, person: str, done):
    """A POST view calling `service` with the URL's ids, the signed-in person as
    `person` and the form's reason; a refusal is shown, nothing changed."""

    @role_required(Role.TEAM_LEAD, Role.AUDITOR)
    def view(request, **ids) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            service(**ids, **{person: request.user}, reason=request.POST.get("reason", ""))
        except ValidationError as error:  # a refusal, or a decision already taken
            for message in error.messages:
                messages.error(request, message)
        except ObjectDoesNotExist:
            raise Http404 from None
        else:
            messages.success(request, done)
        return redirect("operations:retention_due")

    return view


retention_propose = _retention_action(
    services.destruction_propose,
    "proposer",
    gettext_lazy("Proposed. A second person with the other role decides."),
)
retention_approve = _retention_action(
    services.destruction_approve,
    "approver",
    gettext_lazy("Approved: the case file is destroyed, its tombstone kept."),
)
retention_decline = _retention_action(
    services.destruction_decline, "decider", gettext_lazy("Declined: the case file is kept.")
)
retention_withdraw = _retention_action(
    services.destruction_withdraw, "proposer", gettext_lazy("Withdrawn: the case file is kept.")
)

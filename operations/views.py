import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from evaluation.views import LIVE_ROLES
from langzhong_si.clientip import client_ip
from operations import health
from operations.metrics import metrics_exposition
from operations.selectors import hall_banner
from staff.decorators import role_required


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

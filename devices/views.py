"""Registering a hall screen from its one-time link, and the team lead's list of the
hall's screens where new links are issued."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from devices.decorators import COOKIE_MAX_AGE, DEVICE_COOKIE, device_of
from devices.essc import QrUnverifiable, essc_qr_verify
from devices.models import HallDevice
from devices.selectors import hall_devices as hall_devices_list
from devices.services import (
    LINK_ISSUERS,
    LinkRefused,
    hall_device_for_link,
    hall_device_link_issue,
    hall_device_register,
)
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from staff.decorators import role_required
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

logger = logging.getLogger(__name__)

# Where a newly registered screen starts (the screens themselves are counters' and
# ratings' views, above this app: named, not imported).
_DEVICE_HOME = {
    HallDevice.Kind.KIOSK: "counters:kiosk",
    HallDevice.Kind.DISPLAY: "counters:call_display",
    HallDevice.Kind.PAD: "ratings:rating_pad",
}


def device_register(request, token: str):
    """A registration link, opened on the new screen: a confirmation page (so a link
    preview cannot spend it), then the device's credential as a cookie. The link works
    once; any later use, from any machine, gets a refusal page."""
    if request.method == "POST":
        try:
            device, credential = hall_device_register(secret=token)
        except LinkRefused:
            return _link_refused(request)
        response = redirect(_DEVICE_HOME[device.kind])
        response.set_cookie(
            DEVICE_COOKIE,
            credential,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
        return response
    try:
        device = hall_device_for_link(token)
    except LinkRefused:
        return _link_refused(request)
    response = render(request, "devices/device_register.html", {"device": device})
    response["Cache-Control"] = "no-store"
    return response


def _link_refused(request):
    response = render(request, "devices/device_link_refused.html", status=403)
    response["Cache-Control"] = "no-store"
    return response


@role_required(*LINK_ISSUERS, Role.CITY_VIEWER)
def hall_devices(request):
    """The screens and pads of the sites the person sees, and a new registration link
    for one of them (shown once on this page, never stored in clear). The city viewer
    sees every site's and issues nothing."""
    context = {"devices": hall_devices_list(request.user), "issued": None, "error": ""}
    context["read_only"] = scope_of(request.user).read_only
    status = 200
    if request.method == "POST":
        if context["read_only"]:
            raise PermissionDenied
        device_id = request.POST.get("device", "")
        try:
            secret = hall_device_link_issue(
                device_id=int(device_id) if device_id.isdigit() else 0,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
        except HallDevice.DoesNotExist:
            raise Http404 from None
        except ValidationError as error:
            context["error"], status = " ".join(error.messages), 400
        else:
            device = HallDevice.objects.get(pk=int(device_id))
            context["issued"] = {
                "device": device,
                "url": request.build_absolute_uri(
                    reverse("devices:device_register", args=[secret])
                ),
            }
        context["devices"] = hall_devices_list(request.user)
    response = render(request, "devices/hall_devices.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def essc_verify(request):
    """Verify a scanned electronic social-security-card QR code (devices.essc), for a
    registered kiosk or a clerk. The kiosk learns only the ID number (it fills the
    ticket's optional field); a clerk also gets the name for the intake.

    Failed verifications count against the caller (the clerk, or the kiosk):
    ESSC_VERIFY_FAILURES within ESSC_VERIFY_WINDOW_SECONDS, then every code from it is
    refused (429) until the window ends, so nobody tries forged or stolen codes one
    after another against the provincial platform. Verified codes never count."""
    is_clerk = request.user.is_authenticated and user_has_role(request.user, Role.CLERK)
    kiosk = None if is_clerk else device_of(request, HallDevice.Kind.KIOSK)
    if not is_clerk and kiosk is None:
        return JsonResponse({"ok": False, "error": _("Not allowed here.")}, status=403)
    caller = f"user:{request.user.pk}" if is_clerk else f"kiosk:{kiosk.pk}"
    budgets = [
        FailureBudget(
            "essc-verify",
            caller,
            settings.ESSC_VERIFY_FAILURES,
            settings.ESSC_VERIFY_WINDOW_SECONDS,
        )
    ]
    if not failure_budgets_reserve(budgets):
        logger.warning("e-SSC verification refused: too many failed codes from %s", caller)
        return JsonResponse(
            {
                "ok": False,
                "code": "essc_rate_limited",
                "error": _(
                    "Too many QR codes could not be verified here in the last minutes. "
                    "Use the ID card, or try the QR code again later."
                ),
            },
            status=429,
        )
    try:
        holder = essc_qr_verify(request.POST.get("payload", ""))
    except QrUnverifiable as error:
        return JsonResponse(
            {"ok": False, "code": error.code, "error": error.messages[0]}, status=400
        )
    failure_budgets_release(budgets)
    answer = {"ok": True, "id_number": holder.id_number}
    if is_clerk:
        answer["name"] = holder.name
    return JsonResponse(answer)

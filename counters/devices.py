"""Hall devices: the kiosk and the call display run on registered screens, identified by
a cookie set once from their registration link, never by a staff login."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone

from audit.services import audit_event_record
from counters.models import HallDevice

DEVICE_COOKIE = "hall_device"
COOKIE_MAX_AGE = 5 * 365 * 24 * 3600


def device_of(request, kind: str) -> HallDevice | None:
    token = request.COOKIES.get(DEVICE_COOKIE, "")
    if not token:
        return None
    return HallDevice.objects.filter(token=token, kind=kind, enabled=True).first()


def device_required(kind: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if device_of(request, kind) is None:
                return render(request, "counters/device_unregistered.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def hall_device_register(*, token: str) -> HallDevice:
    with transaction.atomic():
        device = HallDevice.objects.select_for_update().filter(token=token, enabled=True).first()
        if device is None:
            raise PermissionDenied
        device.registered_at = timezone.now()
        device.save(update_fields=["registered_at"])
        audit_event_record(event_type="device.registered", obj=device, data={"kind": device.kind})
    return device

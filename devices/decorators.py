"""A hall screen's view runs only on a registered device of its kind, found by the
credential its registration left in a cookie (devices.services)."""

from functools import wraps

from django.shortcuts import render

from devices.models import HallDevice
from devices.selectors import hall_device_for_credential

DEVICE_COOKIE = "hall_device"
COOKIE_MAX_AGE = 5 * 365 * 24 * 3600


def device_of(request, kind: str) -> HallDevice | None:
    return hall_device_for_credential(request.COOKIES.get(DEVICE_COOKIE, ""), kind)


def device_required(kind: str):
    """Serve the view only on a registered device of `kind`; the device is
    `request.hall_device`."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            device = device_of(request, kind)
            if device is None:
                return render(request, "devices/device_unregistered.html", status=403)
            request.hall_device = device
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

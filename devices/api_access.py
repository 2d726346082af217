"""The API's access for hall devices: `Authorization: Device <credential>`."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from devices.decorators import DEVICE_COOKIE
from devices.models import HallDevice
from devices.selectors import hall_device_for_credential
from langzhong_si.ratelimit import ResilientScopedRateThrottle


def _header_credential(request) -> str | None:
    """The credential of `Authorization: Device <credential>`; None without that header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword = f"{HallDeviceAuthentication.keyword} "
    return header[len(keyword) :].strip() if header.startswith(keyword) else None


def device_credential(request) -> str:
    """The credential a request presents: the API's header, else the screens' cookie
    (devices.decorators), else ""."""
    return _header_credential(request) or request.COOKIES.get(DEVICE_COOKIE, "")


class HallDeviceAuthentication(BaseAuthentication):
    """`Authorization: Device <credential>`: a registered kiosk, call display or rating
    pad, found by its credential's digest (devices.selectors). The device is not a person:
    request.user stays anonymous and request.auth is the device."""

    keyword = "Device"

    def authenticate(self, request):
        credential = _header_credential(request)
        if credential is None:
            return None
        device = hall_device_for_credential(credential)
        if device is None:
            raise exceptions.AuthenticationFailed(_("Unknown or disabled hall device."))
        return AnonymousUser(), device

    def authenticate_header(self, request):
        return self.keyword


class HallDeviceRateThrottle(ResilientScopedRateThrottle):
    """A hall device's requests counted per device (the view's `throttle_scope`, "device"),
    not per address: a hall's kiosks, call displays and pads often share one address, and
    a display polling twice a second would spend the public's whole per-address budget,
    refusing the kiosks beside it. Only a device whose credential was accepted gets here
    (permissions come first); anything else is counted by address."""

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, HallDevice):
            return super().get_cache_key(request, view)
        return self.cache_format % {"scope": self.scope, "ident": f"device-{request.auth.pk}"}


def device_permission(kind: str) -> type[BasePermission]:
    class IsHallDevice(BasePermission):
        def has_permission(self, request, view):
            return getattr(request.auth, "kind", None) == kind

    IsHallDevice.__name__ = f"Is{kind.title()}Device"
    return IsHallDevice


class HallDeviceScheme(OpenApiAuthenticationExtension):
    target_class = "devices.api_access.HallDeviceAuthentication"
    name = "hallDevice"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <token>` of a registered kiosk or call display.",
        }

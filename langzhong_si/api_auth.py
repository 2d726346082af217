"""API authentication, kept apart from the views so DRF's settings can import it early."""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, TokenAuthentication

from staff.selectors import needs_second_factor


class StaffTokenAuthentication(TokenAuthentication):
    """API tokens for integrations. A token never stands in for a second factor: the
    roles that need one (administrators, team leads, approvers) use their session."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if needs_second_factor(user):
            raise exceptions.AuthenticationFailed(
                _("This account signs in with a second factor; use a session, not a token.")
            )
        return user, token


class HallDeviceAuthentication(BaseAuthentication):
    """`Authorization: Device <token>`: a registered kiosk or call display. The device is
    not a person: request.user stays anonymous and request.auth is the device."""

    keyword = "Device"

    def authenticate(self, request):
        from counters.models import HallDevice

        header = request.headers.get("Authorization", "")
        if not header.startswith(f"{self.keyword} "):
            return None
        device = HallDevice.objects.filter(
            token=header[len(self.keyword) + 1 :].strip(), enabled=True
        ).first()
        if device is None:
            raise exceptions.AuthenticationFailed(_("Unknown or disabled hall device."))
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), device

    def authenticate_header(self, request):
        return self.keyword

"""API authentication, kept apart from the views so DRF's settings can import it early."""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from staff.selectors import api_token_for_key, api_token_refusal


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`: an integration account's API key (staff.ApiToken,
    stored as a digest). Refused when revoked or expired, when the account is disabled
    or its password must be changed, and for any account that is not an integration
    account or needs a second factor (a token never stands in for one). One query finds
    the token, its account and the password state."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str):
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        refusal = api_token_refusal(token)
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class HallDeviceAuthentication(BaseAuthentication):
    """`Authorization: Device <credential>`: a registered kiosk, call display or rating
    pad, found by its credential's digest (counters.devices). The device is not a person:
    request.user stays anonymous and request.auth is the device."""

    keyword = "Device"

    def authenticate(self, request):
        from counters.devices import hall_device_for_credential

        header = request.headers.get("Authorization", "")
        if not header.startswith(f"{self.keyword} "):
            return None
        device = hall_device_for_credential(header[len(self.keyword) + 1 :].strip())
        if device is None:
            raise exceptions.AuthenticationFailed(_("Unknown or disabled hall device."))
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), device

    def authenticate_header(self, request):
        return self.keyword

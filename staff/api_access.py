"""The API's access for people: integration tokens (stored as digests) and role checks."""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from langzhong_si import compiled
from langzhong_si.credentials import credential_digest
from staff.roles import Role
from staff.selectors import account_copy_key, api_token_for_key, api_token_refusal, user_roles


def api_token_cache_key(digest: str) -> str:
    return f"api-token:{digest}"


def api_token_remembered_key(key: str) -> str:
    """Where an API key's accepted token is remembered (API_TOKEN_CACHE_SECONDS)."""
    return api_token_cache_key(credential_digest(key))


def api_tokens_forget(*, user_id: int) -> None:
    """Forget every remembered token of an account, and mark its row copy as changed
    (staff.selectors.account_copy_key: nothing copies it under the mark): now, and again
    once the change commits (a request between the two could remember the old state)."""
    from staff.models import ApiToken

    keys = [
        api_token_cache_key(digest)
        for digest in ApiToken.objects.filter(user_id=user_id).values_list("digest", flat=True)
    ]
    compiled.row_copy_mark(account_copy_key(user_id))
    if keys:  # with the cache down: remembered API_TOKEN_CACHE_SECONDS at most
        compiled.remembered_forget(keys)


def api_key_presented(request) -> str | None:
    """The key of `Authorization: Token <key>`; None without that header. A malformed
    one is refused (AuthenticationFailed)."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != StaffTokenAuthentication.keyword.lower().encode():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(_("Invalid token header."))
    try:
        return parts[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`: an integration account's API key (staff.ApiToken,
    stored as a digest). Refused when revoked or expired, when the account is disabled
    or its password must be changed, and for any account that is not an integration
    account or needs a second factor (a token never stands in for one). One query finds
    the token, its account and the password state."""

    keyword = "Token"

    def authenticate(self, request):
        key = api_key_presented(request)
        if key is None:
            return None
        # What an unchanged poll read along (operations.pollpath): the remembered token.
        return self.authenticate_credentials(key, getattr(request, "read_along_found", None))

    def authenticate_credentials(self, key: str, known: dict | None = None):
        cache_key = api_token_remembered_key(key)
        token = compiled.cache_get_unsealed(
            cache_key, lambda token: token.user, "password", known=known
        )
        if token is not None:
            # Remembered for a few seconds (API_TOKEN_CACHE_SECONDS): no query at all;
            # its account's password hash is kept encrypted there.
            # Anything that could refuse it is forgotten at once (staff.signals), but
            # time runs on: expiry is checked here every time.
            if token.expires_at <= timezone.now():
                cache.delete(cache_key)
                raise exceptions.AuthenticationFailed(_("This API token has expired."))
            return token.user, token
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        refusal = api_token_refusal(token)  # also reads the account's roles, kept on it
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        timeout = min(
            settings.API_TOKEN_CACHE_SECONDS, (token.expires_at - timezone.now()).total_seconds()
        )
        if timeout > 0:
            compiled.cache_set_sealed(cache_key, token, token.user, "password", timeout)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


def role_permission(*roles: Role) -> type[BasePermission]:
    """A permission class admitting people who hold one of `roles` (superusers are not
    exempt: they hold no business role)."""
    wanted = {role.value for role in roles}

    class HasRole(BasePermission):
        def has_permission(self, request, view):
            return bool(wanted & user_roles(request.user))

    HasRole.__name__ = "Has" + "Or".join(role.name.title().replace("_", "") for role in roles)
    return HasRole


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "staff.api_access.StaffTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` of an integration account (no second-factor roles).",
        }

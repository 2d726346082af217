"""Account security on every request (req. 1, 3, 4): the absolute session
lifetime, the sign-in code a password someone else set waits for, the second factor for
the roles that need it, and the 90-day password change, each before any other page is
served."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from langzhong_si.middleware import whole_page_to
from staff.passwords import password_expired, sign_in_code_awaited
from staff.selectors import needs_second_factor

SIGNED_IN_AT = "signed_in_at"
LAST_ACTIVE_AT = "last_active_at"
# Sent by a screen's automatic refresh (htmx `hx-headers`): it keeps the screen current but
# is not the person at work, so it never keeps an unattended session alive.
POLL_HEADER = "X-Poll"
CHANGE_PAGE = "/account/password/"
SIGN_IN_CODE_PAGE = "/account/sign-in-code/"  # security_desk's (its urls take it from here)


def _exempt(path: str) -> bool:
    return path.startswith(
        (
            settings.STATIC_URL
            if settings.STATIC_URL.startswith("/")
            else f"/{settings.STATIC_URL}",
            "/account/two-factor/",
            "/logout/",
            "/login/",
            "/i18n/",
        )
    )


def _refuse(request, url: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "account_action_required", "message": message}}, status=403
        )
    if request.headers.get("HX-Request"):
        return whole_page_to(url)  # a partial refresh: the page goes, not the panel
    return redirect(f"{url}?next={request.get_full_path()}")


_ENDED = "ended"


def _refusal(request, user, now: float):
    """The first account check this request fails: _ENDED (the session is over), or the
    page to go to and why; None when it passes."""
    signed_in_at = request.session.get(SIGNED_IN_AT)
    last_active_at = request.session.get(LAST_ACTIVE_AT, signed_in_at)
    if (
        signed_in_at is None
        or now - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS
        or now - last_active_at > settings.SESSION_IDLE_SECONDS
    ):
        return _ENDED
    # A password someone else set opens nothing, the authenticator's enrolment included,
    # before the code the security administrator gave its person.
    if sign_in_code_awaited(request):
        if request.path == SIGN_IN_CODE_PAGE:
            return None  # the one page it opens, within the session's limits
        return "security_desk:sign_in_code", _(
            "Enter the sign-in code the security administrator gave you first."
        )
    if needs_second_factor(user) and not user.is_verified():
        return "staff:two_factor", _("Confirm your sign-in with your authenticator code first.")
    # The password page comes after the second factor (whoever has only the password
    # must not change it), and is the one page an expired password opens.
    if not request.path.startswith(CHANGE_PAGE) and password_expired(user):
        return "staff:password_change", _("Your password has expired; set a new one first.")
    return None


def account_passes_unchanged(request) -> bool:
    """Whether AccountSecurityMiddleware would pass this request on without refusing it
    and without writing to its session (operations.pollpath answers a poll early only
    then)."""
    user = request.user
    if not user.is_authenticated or _exempt(request.path):
        return True
    return bool(request.headers.get(POLL_HEADER)) and _refusal(request, user, time.time()) is None


def _activity_to_write(request, now: float) -> bool:
    """Whether a person's own request writes its time: when the time written last is a
    twentieth of the idle limit old or more (a minute of the default twenty). Writing it
    saves the session (its row and cookie) and costs a commit; a person at work sends
    requests seconds apart. The time written lags their last request by less than that
    twentieth, so an idle session ends that much early at most, never late."""
    written = request.session.get(LAST_ACTIVE_AT, request.session.get(SIGNED_IN_AT))
    return written is None or now - written >= settings.SESSION_IDLE_SECONDS / 20


class AccountSecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not _exempt(request.path):
            now = time.time()
            refusal = _refusal(request, user, now)
            if refusal == _ENDED:
                logout(request)
                messages.info(request, _("Your session has ended; please sign in again."))
                return _refuse(request, reverse("login"), _("Your session has ended."))
            if not request.headers.get(POLL_HEADER) and _activity_to_write(request, now):
                request.session[LAST_ACTIVE_AT] = now
            if refusal is not None:
                return _refuse(request, reverse(refusal[0]), refusal[1])
        return self.get_response(request)

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme


class HallLanguageMiddleware:
    """The hall's language is zh-hans unless a person picked another one with the
    language switch (a cookie). A browser's Accept-Language is ignored on purpose:
    kiosks and counter PCs are often set up with an English system locale."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class ContentSecurityPolicyMiddleware:
    """Scripts, styles, images and fonts only from this site; no inline script, no
    framing, forms post only here (req. 6; the templates carry no inline code)."""

    POLICY = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The local device bridge (README, "Hall devices"): its one loopback address.
        bridge = settings.DEVICE_BRIDGE_URL.rstrip("/")
        policy = (
            self.POLICY.replace("connect-src 'self'", f"connect-src 'self' {bridge}")
            if bridge
            else self.POLICY
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


class HtmxSignInMiddleware:
    """A screen's partial refresh (htmx: the workbench's state card, the inbox's list)
    sent to the sign-in page, signed out in another tab say, takes the whole page there,
    as an ended session's does (staff.middleware): the browser would follow the redirect
    and show the sign-in form inside the panel, every few seconds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 302 and request.headers.get("HX-Request"):
            sign_in = resolve_url(settings.LOGIN_URL)
            if urlsplit(response["Location"]).path == sign_in:
                return whole_page_to(sign_in)
        return response


def whole_page_to(url: str) -> HttpResponse:
    """The answer to a partial refresh (htmx) that takes the whole page to `url`."""
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response


def next_url(request, default: str) -> str:
    """Where a step of signing in goes on to: the request's `next` (form or query) when
    it stays on this site, else `default` (never another site: no open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default

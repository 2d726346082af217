from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from langzhong_si.middleware import next_url
from langzhong_si.qr import qr_svg
from staff import services
from staff.decorators import role_required
from staff.models import ApiToken
from staff.passwords import sign_in_code_awaited
from staff.roles import Role
from staff.scope import AnotherAgency, sites_in_scope
from staff.selectors import api_tokens_list, recent_notifications, sign_in_history


@login_required
def notifications(request):
    return render(
        request,
        "staff/notifications.html",
        {"notifications": recent_notifications(request.user)},
    )


@require_POST
@login_required
def notifications_read(request):
    services.notifications_mark_read(recipient=request.user)
    return redirect("staff:notifications")


def _next_url(request) -> str:
    return next_url(request, reverse("home"))


@login_required
def two_factor(request):
    """Second step of signing in: the code from the person's authenticator app; on the
    first sign-in, the app is enrolled from the QR code shown here."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if sign_in_code_awaited(request):  # whoever has only the password enrols nothing
        query = urlencode({"next": _next_url(request)})
        return redirect(f"{reverse('security_desk:sign_in_code')}?{query}")
    device = services.second_factor_device(request.user)
    if request.method == "POST":
        if services.second_factor_verify(request=request, code=request.POST.get("code", "")):
            return redirect(_next_url(request))
        messages.error(request, _("That code is not right (or has expired). Try the current one."))
    return render(
        request,
        "staff/two_factor.html",
        {
            "enrolling": not device.confirmed,
            "qr": qr_svg(device.config_url).decode() if not device.confirmed else "",
            "secret": _base32(device.bin_key) if not device.confirmed else "",
            "next": _next_url(request),
        },
    )


def _base32(key: bytes) -> str:
    import base64

    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "staff/password_change.html"
    success_url = reverse_lazy("staff:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response


@login_required
def account(request):
    return render(
        request,
        "staff/account.html",
        {"history": sign_in_history(request.user), "sites": sites_in_scope(request.user)},
    )


@role_required(Role.SYSTEM_ADMINISTRATOR)
def api_tokens(request):
    """The system administrator issues and revokes integration accounts' API keys. A new
    key is shown on this response only (never stored, never redirected with)."""
    issued_key = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "issue":
                user = get_user_model().objects.get(username=request.POST.get("username", ""))
                token, issued_key = services.api_token_issue(user=user, issued_by=request.user)
                messages.success(request, _("The key is shown once: copy it now."))
            elif action == "revoke":
                services.api_token_revoke(
                    token_id=int(request.POST.get("token", "")), revoked_by=request.user
                )
                messages.success(request, _("The token is revoked."))
                return redirect("staff:api_tokens")
        except (ValueError, ApiToken.DoesNotExist):
            messages.error(request, _("No such token."))
        except AnotherAgency:  # another agency's account or token: as if absent
            messages.error(
                request, _("No such token.") if action == "revoke" else _("No such user.")
            )
        except get_user_model().DoesNotExist:
            messages.error(request, _("No such user."))
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error.messages[0] if hasattr(error, "messages") else str(error))
    response = render(
        request,
        "staff/api_tokens.html",
        {"tokens": api_tokens_list(request.user)[:200], "issued_key": issued_key},
    )
    response["Cache-Control"] = "no-store"
    return response


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes's lockout page (AXES_LOCKOUT_CALLABLE)."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)

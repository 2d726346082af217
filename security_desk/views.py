from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from langzhong_si.middleware import next_url
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from security_desk.selectors import accounts_awaiting_code
from security_desk.services import sign_in_code_enter, sign_in_code_issue
from staff import services
from staff.decorators import role_required
from staff.passwords import SIGN_IN_CODE_SESSION_KEY, password_token, sign_in_code_awaited
from staff.roles import Role
from staff.scope import AnotherAgency
from staff.selectors import locked_accounts


@role_required(Role.SECURITY_ADMINISTRATOR)
def security(request):
    """The security administrator's desk: roles, lockouts, second factors and sign-in
    codes. A code given is shown on this response only (never stored, never redirected
    with)."""
    given = None
    if request.method == "POST":
        users = get_user_model().objects
        action = request.POST.get("action", "")
        try:
            if action == "unlock":
                services.account_unlock(
                    username=request.POST.get("username", ""), unlocked_by=request.user
                )
                messages.success(request, _("The account is unlocked."))
            elif action in ("grant", "revoke"):
                role = Role(request.POST.get("role", ""))  # before the account: says nothing of it
                user = users.get(username=request.POST.get("username", ""))
                if action == "grant":
                    services.role_grant(user=user, role=role, granted_by=request.user)
                else:
                    services.role_revoke(user=user, role=role, revoked_by=request.user)
                messages.success(request, _("The roles are updated."))
            elif action == "reset_second_factor":
                user = users.get(username=request.POST.get("username", ""))
                services.second_factor_reset(user=user, reset_by=request.user)
                messages.success(request, _("The authenticator is removed; they enrol again."))
            elif action == "sign_in_code":
                user = users.get(username=request.POST.get("username", ""))
                code, expires_at = sign_in_code_issue(user=user, issued_by=request.user)
                given = {"user": user, "code": f"{code[:4]} {code[4:]}", "expires_at": expires_at}
        except (get_user_model().DoesNotExist, AnotherAgency):  # another's: as if absent
            messages.error(request, _("No such user."))
        except ValueError:
            messages.error(request, _("Choose a role."))
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error.messages[0] if hasattr(error, "messages") else str(error))
        if given is None:
            return redirect("security_desk:security")
    response = render(
        request,
        "security_desk/security.html",
        {
            "locked": locked_accounts(request.user),
            "roles": Role.choices,
            "given": given,
            "awaiting": accounts_awaiting_code(request.user),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def sign_in_code(request):
    """The first page a password someone else set opens: the code the security
    administrator gave its person. Entered, this session goes on (to the authenticator,
    then to choosing a new password); another session with the same password asks again."""
    target = next_url(request, reverse("home"))
    if not sign_in_code_awaited(request):
        return redirect(target)
    if request.method == "POST":
        # Wrong tries in an hour: a session's, and a person's across sessions (whoever
        # holds their password may try from several).
        budget = [
            FailureBudget("sign-in-code-session", request.session.session_key or "", 10, 3600),
            FailureBudget("sign-in-code", str(request.user.pk), 30, 3600),
        ]
        if not failure_budgets_reserve(budget):
            messages.error(request, _("Too many tries. Ask the security administrator."))
        elif sign_in_code_enter(user=request.user, code=request.POST.get("code", "")):
            failure_budgets_release(budget)
            request.session.cycle_key()  # a session that now opens more: a new id
            request.session[SIGN_IN_CODE_SESSION_KEY] = password_token(request.user)
            return redirect(target)
        else:
            messages.error(
                request,
                _("That code is not right, has expired or was replaced. Five wrong entries "
                  "end it: then ask the security administrator for a new one."),
            )  # fmt: skip
    return render(request, "security_desk/sign_in_code.html", {"next": target})

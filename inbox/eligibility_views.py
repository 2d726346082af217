"""The screens of who can be drawn: the team lead's pool page (availability, with a
reason) and each staff member's recusal declaration, over risk's services and
selectors. They live here, above risk, to keep risk's rules apart from its screens;
their URLs keep risk's namespace (inbox/eligibility_urls.py)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inbox.eligibility_forms import ConfirmForm, OwnIdForm, RelativeAddForm, RelativeRemoveForm
from risk import selectors, services
from staff.decorators import role_required
from staff.models import StaffProfile
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_roles


def _staff_in_scope(viewer):
    """The staff of the viewer's agencies: nobody acts on another agency's people."""
    agency_ids = scope_of(viewer).agency_ids
    people = get_user_model().objects.filter(staff_profile__sites__agency_id__in=agency_ids)
    return people.distinct()


@role_required(Role.TEAM_LEAD)
def pool(request):
    """Who can be drawn: each reviewer's and approver's standing today, the pool sizes,
    and availability changes (with a reason, recorded, never one's own)."""
    context = {
        "people": selectors.pool_people(agency_ids=scope_of(request.user).agency_ids),
        "sizes": selectors.pool_sizes(agency_ids=scope_of(request.user).agency_ids),
        "availability_choices": StaffProfile.Availability.choices,
    }
    return render(request, "risk/pool.html", context)


@require_POST
@role_required(Role.TEAM_LEAD)
def pool_availability(request, user_id: int):
    person = get_object_or_404(_staff_in_scope(request.user), pk=user_id)
    profile = person.staff_profile
    before = profile.get_availability_display()
    wanted = request.POST.get("availability", "")
    if wanted == profile.availability:
        messages.info(
            request,
            _("%(name)s is already %(state)s: nothing changed.")
            % {"name": profile.display_name, "state": before},
        )
        return redirect("risk:pool")
    try:
        profile = services.availability_set(
            user=person, availability=wanted, reason=request.POST.get("reason", ""),
            actor=request.user,
        )  # fmt: skip
    except (ValidationError, PermissionDenied) as error:
        for message in getattr(error, "messages", None) or [str(error)]:
            messages.error(request, f"{profile.display_name}: {message}")
    else:
        messages.success(
            request,
            _("%(name)s: %(before)s → %(after)s.")
            % {"name": profile.display_name, "before": before,
               "after": profile.get_availability_display()},
        )  # fmt: skip
    return redirect("risk:pool")


# --- Recusal declarations (any staff member) and the team lead's overview --------------

_RECUSAL_DONE = {
    "own_id": _("Your ID number is recorded (only its keyed hash is kept)."),
    "add_relative": _("The relative is declared (only a keyed hash of the number is kept)."),
    "remove_relative": _("The relative is removed from your declaration."),
    "confirm": _("Your declaration is confirmed."),
}


def _recusal_apply(request, action: str) -> None:
    """Run one declaration change; raises ValidationError or PermissionDenied."""
    user = request.user
    form_class = {
        "own_id": OwnIdForm,
        "add_relative": RelativeAddForm,
        "remove_relative": RelativeRemoveForm,
        "confirm": ConfirmForm,
    }.get(action)
    if form_class is None:
        raise ValidationError(_("Unknown action."))
    form = form_class(request.POST)
    if not form.is_valid():
        raise ValidationError([str(error) for errors in form.errors.values() for error in errors])
    data = form.cleaned_data
    if action == "own_id":
        services.recusal_own_id_record(
            user=user, password=data["password"], id_number=data["id_number"]
        )
    elif action == "add_relative":
        services.recusal_relative_add(
            user=user,
            password=data["password"],
            id_number=data["id_number"],
            relation=data["relation"],
        )
    elif action == "remove_relative":
        services.recusal_relative_remove(
            user=user, password=data["password"], relative_id=data["relative"],
            reason=data["reason"],
        )  # fmt: skip
    else:
        services.recusal_confirm(user=user, password=data["password"])


@login_required
def recusal(request):
    """A staff member's own ID number and relatives, for the draws' recusal. Every change
    needs the password again; after a POST the page is always reloaded, so a typed ID
    number never comes back in a response."""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            _recusal_apply(request, action)
        except (ValidationError, PermissionDenied) as error:
            for message in getattr(error, "messages", None) or [str(error)]:
                messages.error(request, message)
        else:
            messages.success(request, _RECUSAL_DONE[action])
        return redirect("risk:recusal")
    context = {
        "status": selectors.recusal_status(user=request.user),
        "own_form": OwnIdForm(),
        "relative_form": RelativeAddForm(),
        "confirm_form": ConfirmForm(),
        "is_team_lead": Role.TEAM_LEAD.value in user_roles(request.user),
    }
    return render(request, "risk/recusal.html", context)


@role_required(Role.TEAM_LEAD, Role.SECURITY_ADMINISTRATOR)
def recusal_overview(request):
    context = {
        "rows": selectors.recusal_overview(agency_ids=scope_of(request.user).agency_ids),
        "may_correct": Role.SECURITY_ADMINISTRATOR.value in user_roles(request.user),
    }
    return render(request, "risk/recusal_overview.html", context)


@require_POST
@role_required(Role.SECURITY_ADMINISTRATOR)
def recusal_own_id_clear(request, user_id: int):
    person = get_object_or_404(_staff_in_scope(request.user), pk=user_id)
    try:
        services.recusal_own_id_clear(
            user=person, cleared_by=request.user, reason=request.POST.get("reason", "")
        )
    except (ValidationError, PermissionDenied) as error:
        for message in getattr(error, "messages", None) or [str(error)]:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The ID number of %(name)s is cleared; they can record it again.")
            % {"name": person.staff_profile.display_name},
        )
    return redirect("risk:recusal_overview")

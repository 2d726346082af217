"""A revealed day's draws, for the auditor to recompute outside the system."""

from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from draws import selectors, services
from draws.forms import BundleDayForm
from staff.decorators import role_required
from staff.roles import Role


@role_required(Role.AUDITOR)
def draw_days(request):
    agency_id = services.draws_agency_of(request.user)
    days = selectors.draw_days_revealed(agency_id=agency_id)
    return render(request, "draws/draw_days.html", {"days": days})


@role_required(Role.AUDITOR)
def draw_bundle(request):
    form = BundleDayForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(str(_("Give the day as YYYY-MM-DD.")))
    day = form.cleaned_data["day"]
    try:
        bundle = services.draws_bundle(day=day, actor=request.user)
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    response = JsonResponse(bundle, json_dumps_params={"indent": 1, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="draws-{day.isoformat()}.json"'
    return response

"""The team lead's reporting page: the day's reconciliation and the dead letters, each
with a resend."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from langzhong_si.dates import date_parse
from reporting import selectors, services
from reporting.models import Delivery
from staff.decorators import role_required
from staff.roles import Role


@role_required(Role.TEAM_LEAD)
def overview(request):
    day, status = timezone.localdate(), 200
    if request.GET.get("day"):
        try:
            day = date_parse(request.GET["day"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            status = 400
    context = {
        "day": day,
        "rows": selectors.reconciliation(day, viewer=request.user),
        "dead_letters": selectors.dead_letters(viewer=request.user),
        "waiting": selectors.deliveries_waiting(viewer=request.user),
        "transport": settings.REPORTING_TRANSPORT,
    }
    return render(request, "reporting/overview.html", context, status=status)


@role_required(Role.TEAM_LEAD)
@require_POST
def resend(request):
    delivery_id = request.POST.get("delivery", "")
    try:
        delivery = services.delivery_resend(
            delivery_id=int(delivery_id) if delivery_id.isdigit() else 0,
            lead=request.user,
            reason=request.POST.get("reason", ""),
        )
    except Delivery.DoesNotExist:
        messages.error(request, _("No such report delivery."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Report %(key)s is queued again.") % {"key": delivery.key})
    return redirect("reporting:overview")

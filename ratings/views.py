"""The rating pad at a window, the citizen's ticket page (its place, its cases, cancel
and rate) and the team lead's follow-ups of bad ratings."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from counters import selectors as counter_selectors
from counters import services as counter_services
from counters.models import Ticket
from devices.decorators import device_required
from devices.models import HallDevice
from ratings import selectors, services
from ratings.models import Rating
from staff.decorators import role_required
from staff.roles import Role


def _messages_from(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@device_required(HallDevice.Kind.PAD)
def rating_pad(request):
    """The tablet at a window, registered as that window's pad: it offers the service
    just finished there, once, for a few minutes."""
    pad = request.hall_device
    context = {"window": pad.window, "levels": Rating.Level.choices}
    if request.method == "POST":
        ticket_id, level = request.POST.get("ticket", ""), request.POST.get("level", "")
        try:
            services.rating_pad_submit(
                pad=pad,
                ticket_id=int(ticket_id) if ticket_id.isdigit() else 0,
                level=int(level) if level.isdigit() else 0,
                reason=request.POST.get("reason", ""),
            )
        except (ValidationError, Ticket.DoesNotExist) as error:
            context.update(
                ticket=selectors.ticket_awaiting_pad_rating(pad.window),
                error=" ".join(getattr(error, "messages", []))
                or _("Only the service just finished at this window can be rated here."),
                chosen=request.POST.get("level"),
                reason=request.POST.get("reason", ""),
            )
            return render(request, "ratings/rating_pad.html", context, status=400)
        return render(request, "ratings/rating_pad.html", {**context, "thanks": True})
    context["ticket"] = selectors.ticket_awaiting_pad_rating(pad.window)
    template = (
        "ratings/_rating_pad_body.html"
        if request.headers.get("HX-Request")
        else "ratings/rating_pad.html"
    )
    return render(request, template, context)


def ticket_page(request, token: str):
    """What the QR code on the slip opens: the ticket's place, its cases, cancel, rate."""
    try:
        ticket = counter_selectors.ticket_for_citizen(token)
    except Ticket.DoesNotExist:
        raise Http404 from None
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                counter_services.ticket_cancel(public_token=token)
            elif request.POST.get("action") == "rate":
                services.rating_submit(
                    ticket_id=ticket.pk,
                    level=int(request.POST.get("level", 0) or 0),
                    reason=request.POST.get("reason", ""),
                )
        except (ValidationError, PermissionDenied) as error_:
            error = " ".join(getattr(error_, "messages", [str(error_)]))
        else:
            return redirect("ratings:ticket_page", token=token)
        ticket.refresh_from_db()
    context = {
        "ticket": ticket,
        "ahead": counter_selectors.tickets_ahead(ticket),
        "cases": [counter_selectors.case_public_progress(case) for case in ticket.cases.all()],
        "ratings": list(ticket.ratings.order_by("sequence")),
        "levels": Rating.Level.choices,
        "error": error,
    }
    return render(request, "ratings/ticket_page.html", context, status=400 if error else 200)


@role_required(Role.TEAM_LEAD)
def follow_ups(request):
    if request.method == "POST":
        try:
            services.follow_up_record(
                follow_up_id=int(request.POST.get("follow_up", 0) or 0),
                lead=request.user,
                callback_note=request.POST.get("callback_note", ""),
                reply=request.POST.get("reply", ""),
            )
        except ValidationError as error:
            _messages_from(request, error)
        return redirect("ratings:follow_ups")
    return render(
        request,
        "ratings/follow_ups.html",
        {"follow_ups": selectors.open_follow_ups(), "today": timezone.localdate()},
    )

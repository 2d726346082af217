"""The citizen's booking and cancelling pages (public, rate-limited), the kiosk's
check-in (a registered kiosk) and the team lead's capacities."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appointments import selectors, services
from appointments.forms import BookingForm, CancelForm, CapacityForm, CheckInForm
from appointments.models import Appointment
from counters.models import Queue
from devices.decorators import device_required
from devices.models import HallDevice
from langzhong_si.clientip import client_ip
from langzhong_si.dates import date_parse
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from sites.defaults import home_site_id
from sites.models import Site
from staff.decorators import role_required
from staff.roles import Role
from staff.scope import scope_filter, scope_of

_SESSION_BOOKED = "appointment_booked"


def _budget(name: str, subject: str, limit: int) -> FailureBudget:
    return FailureBudget(name, subject, limit, settings.APPOINTMENT_RATE_WINDOW_SECONDS)


def _day_from(value: str, days: list[datetime.date]) -> datetime.date | None:
    try:
        day = date_parse(value)
    except ValidationError:
        return None
    return day if day in days else None


def _first_open_day(site_id: int, queue: str, days: list[datetime.date]) -> datetime.date | None:
    """The first day with a time left to book (else the first day), shown first."""
    for day in days:
        slots = selectors.bookable_slots(site_id=site_id, queue=queue, day=day)
        if any(slot["free"] for slot in slots):
            return day
    return days[0] if days else None


def _site_from(value: str, sites: list, *, strict: bool = False) -> "Site":
    """The site chosen (by id) among those offered; else the home hall (else the first).
    `strict`: a site named but not offered (another agency's) is not found."""
    by_id = {str(site.pk): site for site in sites}
    if value in by_id:
        return by_id[value]
    if strict and value:
        raise Http404
    return by_id.get(str(home_site_id())) or sites[0]


@require_http_methods(["GET", "POST"])
def book(request):
    """Choose a site, a queue, a day and a time; give the ID number and a mobile number.
    Every booking counts against the client's APPOINTMENT_BOOKINGS_PER_CLIENT."""
    days = services.booking_days(timezone.localdate())
    sites = list(selectors.bookable_sites())
    site = _site_from(request.POST.get("site") or request.GET.get("site", ""), sites)
    queue = request.GET.get("queue") if request.GET.get("queue") in Queue.values else Queue.HALL
    day = _day_from(request.GET.get("day", ""), days) or _first_open_day(site.pk, queue, days)
    form = BookingForm(request.POST or None, initial={"queue": queue})
    status = 200
    if request.method == "POST" and form.is_valid():
        budget = _budget(
            "appointment-book", client_ip(request), settings.APPOINTMENT_BOOKINGS_PER_CLIENT
        )
        if not failure_budgets_reserve([budget]):
            form.add_error(
                None, _("Too many bookings from this connection. Please try again later.")
            )
            status = 429
        else:
            try:
                appointment = services.appointment_book(
                    queue=form.cleaned_data["queue"],
                    slot_start=form.cleaned_data["slot"],
                    id_number=form.cleaned_data["id_number"],
                    phone=form.cleaned_data["phone"],
                    site_id=site.pk,
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
                status = 409
            else:
                request.session[_SESSION_BOOKED] = appointment.pk
                return redirect("appointments:booked")
    if request.method == "POST":
        # A public page: the numbers typed are not shown again.
        form.data = form.data.copy()
        form.data["id_number"] = ""
        queue = form.data.get("queue") if form.data.get("queue") in Queue.values else queue
        slot = form.cleaned_data.get("slot") if hasattr(form, "cleaned_data") else None
        if slot is not None:
            day = (
                timezone.localtime(slot).date() if timezone.localtime(slot).date() in days else day
            )
    context = {
        "form": form,
        "queues": Queue.choices,
        "queue": queue,
        "sites": sites,
        "site": site,
        "days": days,
        "day": day,
        "slots": selectors.bookable_slots(site_id=site.pk, queue=queue, day=day) if day else [],
        "hours": settings.HALL_HOURS,
    }
    return render(request, "appointments/book.html", context, status=status)


def booked(request):
    """The booking just made, shown once to the browser that made it."""
    appointment_id = request.session.pop(_SESSION_BOOKED, None)
    appointment = Appointment.objects.filter(pk=appointment_id).first() if appointment_id else None
    if appointment is None:
        return redirect("appointments:book")
    return render(request, "appointments/booked.html", {"appointment": appointment})


@require_http_methods(["GET", "POST"])
def cancel(request):
    """Cancel with the booking code and the ID number. Only failures count, per code
    (from any address) and per client, as for the progress look-up."""
    form = CancelForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        limit = settings.APPOINTMENT_CANCEL_FAILURES
        budgets = [
            _budget("appointment-cancel-code", code, limit),
            _budget("appointment-cancel-client", client_ip(request), limit),
        ]
        if not failure_budgets_reserve(budgets):
            form.add_error(None, _("Too many failed attempts. Please try again later."))
            status = 429
        else:
            try:
                appointment = services.appointment_cancel(
                    code=code, id_number=form.cleaned_data["id_number"]
                )
            except Appointment.DoesNotExist:
                form.add_error(None, _("No appointment matches this code and ID number."))
                status = 404
            except ValidationError as error:
                failure_budgets_release(budgets)
                for message in error.messages:
                    form.add_error(None, message)
                status = 409
            else:
                failure_budgets_release(budgets)
                messages.success(
                    request,
                    _("Appointment %(code)s is cancelled.") % {"code": appointment.code},
                )
                return redirect("appointments:cancel")
    if request.method == "POST":
        form.data = form.data.copy()
        form.data["id_number"] = ""
    return render(request, "appointments/cancel.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@device_required(HallDevice.Kind.KIOSK)
def kiosk_check_in(request):
    """The kiosk's "I have an appointment" screen: the booking code on the keypad. The
    device bridge's card swipe posts `id_number` here instead of a code. The slip is
    the ticket's, as for a walk-in (counters:ticket_print)."""
    form = CheckInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_check_in(
                code=form.cleaned_data.get("code") or "",
                id_number=form.cleaned_data.get("id_number") or "",
                kiosk=request.hall_device,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            status = 409
        else:
            return redirect("counters:ticket_print", ticket_id=appointment.ticket_id)
    if request.method == "POST":
        form.data = form.data.copy()
        form.data["code"] = ""
        form.data["id_number"] = ""
    return render(request, "appointments/kiosk_check_in.html", {"form": form}, status=status)


@role_required(Role.TEAM_LEAD, Role.CITY_VIEWER)
@require_http_methods(["GET", "POST"])
def capacities(request):
    """The team lead sets the bookings per slot of each queue of one of the agency's
    sites for a day and sees the day's bookings there (the city viewer sees any site's
    and sets nothing)."""
    sites = list(scope_filter(Site.objects.all(), request.user, site="pk"))
    if not sites:
        raise PermissionDenied
    site = _site_from(request.POST.get("site") or request.GET.get("site", ""), sites, strict=True)
    today = timezone.localdate()
    try:
        day = date_parse(request.GET.get("day", "")) if request.GET.get("day") else today
    except ValidationError:
        day = today
    form = CapacityForm(request.POST or None)
    if request.method == "POST":
        if scope_of(request.user).read_only:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.slot_capacity_set(
                    lead=request.user,
                    site_id=site.pk,
                    queue=form.cleaned_data["queue"],
                    day=form.cleaned_data["day"],
                    per_slot=form.cleaned_data["per_slot"],
                )
            except (ValidationError, PermissionDenied) as error:
                for message in getattr(error, "messages", [str(error)]):
                    messages.error(request, message)
            else:
                messages.success(request, _("Capacity saved."))
            day = form.cleaned_data["day"]
        else:
            for errors in form.errors.values():
                for message in errors:
                    messages.error(request, message)
        return redirect(f"{request.path}?site={site.pk}&day={day.isoformat()}")
    days = [today + datetime.timedelta(days=n) for n in range(settings.APPOINTMENT_DAYS_AHEAD + 1)]
    return render(
        request,
        "appointments/capacities.html",
        {
            "day": day,
            "days": days,
            "sites": sites,
            "site": site,
            "queues": selectors.capacity_day(site_id=site.pk, day=day),
            "statuses": Appointment.Status.choices,
            "editable": day >= today and not scope_of(request.user).read_only,
        },
    )

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from catalog.models import ServiceItem
from catalog.selectors import catalog_search, categories_with_items
from counters import selectors, services
from counters.models import Ticket, Window
from devices.decorators import device_required
from devices.models import HallDevice
from front.forms import IntakeForm, KioskTicketForm, PauseForm
from langzhong_si.qr import qr_svg
from langzhong_si.versions import TICKETS, next_minute, poll_etag, polled_screen, user_key
from staff.decorators import role_required
from staff.roles import Role
from staff.scope import scope_of


def _messages_from(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


# --- Kiosk and call display (public hall devices) ---------------------------------------


@device_required(HallDevice.Kind.KIOSK)
def kiosk(request):
    """The start screen. Outside the hall's opening hours it shows when the hall opens
    next and issues nothing (the service refuses too, whatever the screen showed)."""
    closed_until = services.hall_next_open(timezone.localtime())
    if closed_until is not None:
        return render(
            request,
            "counters/kiosk_closed.html",
            {
                "next_opening": closed_until,
                "hours": settings.HALL_HOURS,
                "site": request.hall_device.site,
            },
            status=200 if request.method == "GET" else 409,
        )
    form = KioskTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        item = None
        if form.cleaned_data.get("item"):
            item = ServiceItem.objects.filter(pk=form.cleaned_data["item"], enabled=True).first()
            if item is None:
                raise Http404
        try:
            ticket = services.ticket_issue(
                item=item,
                is_consultation=bool(form.cleaned_data.get("consultation")) and item is None,
                id_number=form.cleaned_data.get("id_number") or "",
                priority_request=form.cleaned_data.get("priority_request") or "",
                kiosk=request.hall_device,
            )
        except ValidationError as error:  # e.g. this ID number already holds a ticket
            for message in error.messages:
                form.add_error(None, message)
            # A public screen: the number typed is not left on it for the next person.
            form.data = form.data.copy()
            form.data["id_number"] = ""
        else:
            return redirect("counters:ticket_print", ticket_id=ticket.pk)
    categories = list(categories_with_items(site_id=request.hall_device.site_id))
    chosen = next((c for c in categories if c.code == request.GET.get("category")), None)
    return render(
        request,
        "counters/kiosk.html",
        {
            "form": form,
            "categories": categories,
            "chosen": chosen,
            "site": request.hall_device.site,
        },
    )


@require_GET
@device_required(HallDevice.Kind.KIOSK)
def ticket_print(request, ticket_id: int):
    """The slip just issued, on the kiosk that issued it, for KIOSK_SLIP_SECONDS; the
    page returns to the start screen by itself so the next person never sees its QR."""
    try:
        ticket = selectors.kiosk_slip(kiosk=request.hall_device, ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        return render(request, "counters/slip_gone.html", status=404)
    page_url = request.build_absolute_uri(
        reverse("ratings:ticket_page", args=[ticket.public_token])
    )
    return render(
        request,
        "counters/ticket_print.html",
        {
            "ticket": ticket,
            "ahead": selectors.tickets_ahead(ticket),
            "qr_svg": mark_safe(qr_svg(page_url).decode()),  # noqa: S308 - generated SVG
            "return_seconds": settings.KIOSK_RETURN_SECONDS,
        },
    )


@require_GET
@device_required(HallDevice.Kind.DISPLAY)
def call_display(request):
    context = {**_call_display_context(request.hall_device), "call_clips": _call_clip_urls()}
    return render(request, "counters/call_display.html", context)


def _call_display_calls_etag(request) -> str:
    """The calls and the queues' lengths move with the tickets' version; the clock with
    the minute; the words with the language."""
    now = timezone.now()
    clock = f"@{timezone.localtime(now):%H%M}@{get_language()}"
    return poll_etag(request, TICKETS, also=clock, turns=next_minute(now))[0]


@polled_screen(_call_display_calls_etag, device_required(HallDevice.Kind.DISPLAY))
def call_display_calls(request):
    """Polled every 500 ms: the browser keeps the last answer and asks again with its
    ETag, and while no ticket moved it gets an empty 304 (no query for the calls),
    answered before most of the middleware (operations.pollpath)."""
    return render(
        request, "counters/_call_display_calls.html", _call_display_context(request.hall_device)
    )


# The recorded clips the display plays when its browser has no Chinese voice
# (scripts/make_call_clips.py makes them; real recordings can replace them).
CALL_CLIPS = [
    *"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "qing",
    "hao",
    "dao",
    "chuangkou",
    "banli",
    "shi",
]


def _call_clip_urls() -> dict[str, str]:
    return {name: static(f"audio/calls/{name}.wav") for name in CALL_CLIPS}


def _call_display_context(display: HallDevice) -> dict:
    """The display's own site only: another site's calls would send citizens to a window
    that is not in this room."""
    return {
        "calls": list(selectors.recent_calls(site_id=display.site_id)),
        "waiting": selectors.waiting_counts(site_id=display.site_id),
        "now": timezone.now(),
    }


# --- The clerk's workbench -----------------------------------------------------------------


@role_required(Role.CLERK)
def workbench(request):
    window = selectors.window_of(request.user)
    if window is None:
        return render(
            request,
            "counters/sign_on.html",
            {"windows": selectors.windows_for_sign_on(request.user)},
        )
    context = {"window": window, "recent_cases": selectors.clerk_recent_cases(request.user)}
    if window.current_ticket is not None:
        context.update(workbench_intake_context(request, window.current_ticket))
    context["pause_form"] = PauseForm()
    return render(request, "counters/workbench.html", context)


def _workbench_panel_etag(request) -> str | None:
    """The state card moves with the clerk's version (every move of their window and its
    ticket), its words with the language, and once a minute: at the minutes of the
    ticket's wait where it shows one (its issue time is in the card's URL: "waited" turns
    then), else at the clock's. One ETag per state the card was asked for (the URL's),
    none for a state that is none."""
    state, since = request.GET.get("state", ""), request.GET.get("since", "")
    if state not in Window.State.values:
        return None
    now = timezone.now()
    if since.isascii() and since.isdigit() and len(since) <= 12:
        # A second late: `since` is the issue time's whole second, "waited" counts from
        # the exact time, so the text has turned when the tag does.
        waited = (int(now.timestamp()) - int(since) - 1) // 60
        minute, turns = f"{waited}m", int(since) + 1 + (waited + 1) * 60
    else:
        minute, turns = f"{timezone.localtime(now):%H%M}", next_minute(now)
    also = f"@{minute}@{get_language()}@{state}"
    return poll_etag(request, user_key(request.user.pk), also=also, turns=turns)[0]


@polled_screen(_workbench_panel_etag, role_required(Role.CLERK))
def workbench_panel(request):
    """The polled state card, every 2 s: while the clerk's window did not move, an empty
    304, answered before most of the middleware (operations.pollpath). When the state
    changed (a ticket was handed over), the whole workbench reloads so the intake form
    appears."""
    window = selectors.window_of(request.user)
    if window is None or request.GET.get("state") != window.state:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "counters/_workbench_state.html", {"window": window})


def workbench_intake_context(request, ticket: Ticket, form: IntakeForm | None = None) -> dict:
    """The workbench's intake part for the ticket being served: the item (from ?item= or
    the ticket), its materials and the form; cases.views.intake shows it again, bound,
    when the intake is refused."""
    item_id = request.GET.get("item") or (ticket.item_id and str(ticket.item_id))
    item = None
    if item_id and item_id.isdigit():
        item = ServiceItem.objects.filter(pk=int(item_id), enabled=True).first()
    materials = list(item.materials.all()) if item else []
    if form is None:
        form = IntakeForm(
            initial={"item": item.pk if item else None},
            materials=materials,
            item=item,
            staff=selectors.assisting_staff_choices(request.user),
        )
    return {
        "item": item,
        "materials": materials,
        "intake_form": form,
    }


def _clerk_action(request, action, success_message: str | None = None):
    """Run a counter key's action and go back to the page it was pressed on (the counter
    keys work on every counter page), or to the workbench."""
    try:
        action(clerk=request.user)
    except ValidationError as error:
        _messages_from(request, error)
    else:
        if success_message:
            messages.success(request, success_message)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("counters:workbench")


@require_POST
@role_required(Role.CLERK)
def sign_on(request):
    window_id = request.POST.get("window", "")
    if not window_id.isdigit():
        messages.error(request, _("Choose a window."))
        return redirect("counters:workbench")
    try:
        services.window_sign_on(clerk=request.user, window_id=int(window_id))
    except Window.DoesNotExist:
        messages.error(request, _("No such window."))
    except ValidationError as error:
        _messages_from(request, error)
    return redirect("counters:workbench")


@require_POST
@role_required(Role.CLERK)
def sign_off(request):
    return _clerk_action(request, services.window_sign_off)


@require_POST
@role_required(Role.CLERK)
def ready(request):
    return _clerk_action(request, services.window_declare_ready)


@require_POST
@role_required(Role.CLERK)
def pause(request):
    form = PauseForm(request.POST)
    if not form.is_valid():
        if request.POST.get("reason", "").strip():  # given, but too long
            _messages_from(request, ValidationError(form.errors["reason"]))
        else:
            messages.error(request, _("Give a reason for the pause."))
        return redirect("counters:workbench")
    reason = form.cleaned_data["reason"]
    return _clerk_action(request, lambda clerk: services.window_pause(clerk=clerk, reason=reason))


@require_POST
@role_required(Role.CLERK)
def recall(request):
    return _clerk_action(request, services.ticket_recall, _("Called again."))


@require_POST
@role_required(Role.CLERK)
def no_show(request):
    return _clerk_action(request, services.ticket_no_show, _("Recorded as a no-show."))


@require_POST
@role_required(Role.CLERK)
def finish(request):
    """F8: the service ends and the window is ready again; "finish, then pause" (a reason
    given) pauses it instead."""
    reason = request.POST.get("pause_reason", "")
    return _clerk_action(
        request,
        lambda clerk: services.ticket_finish(clerk=clerk, pause_reason=reason),
        _("Service finished."),
    )


@role_required(Role.CLERK)
def item_picker(request):
    """The workbench's item search: the public catalog search, as links that load the
    item's checklist into the intake form."""
    query = request.GET.get("q", "")[:50]
    return render(
        request,
        "counters/_item_picker_results.html",
        {"query": query, "items": list(catalog_search(query, limit=12))},
    )


# --- Window lead --------------------------------------------------------------------------


@role_required(Role.WINDOW_LEAD, Role.CITY_VIEWER)
def lead_queue(request):
    """Today's priority requests, no-shows and flagged re-takes of the lead's sites (the
    city viewer sees every site's, and changes nothing)."""
    if request.method == "POST":
        ticket_id = int(request.POST.get("ticket", 0) or 0)
        try:
            if request.POST.get("action") == "confirm":
                services.ticket_priority_confirm(ticket_id=ticket_id, lead=request.user)
                messages.success(request, _("Priority confirmed."))
            elif request.POST.get("action") == "requeue":
                services.ticket_requeue(
                    ticket_id=ticket_id, lead=request.user, reason=request.POST.get("reason", "")
                )
                messages.success(request, _("The ticket is back in the queue."))
        except (ValidationError, Ticket.DoesNotExist) as error:
            _messages_from(
                request,
                error
                if isinstance(error, ValidationError)
                else ValidationError(_("No such ticket.")),
            )
        return redirect("counters:lead_queue")
    context = selectors.lead_queue_today(request.user)
    context["read_only"] = scope_of(request.user).read_only
    return render(request, "counters/lead_queue.html", context)

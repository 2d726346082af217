"""The rating pad at a window, the citizen's ticket page (its place, its cases, cancel,
rate the service and each case's completion, appeal a handling), the follow-ups of bad
ratings, the clerk's appeals and their decisions, and the public monthly results."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.selectors import public_agencies, public_agency
from counters import selectors as counter_selectors
from counters import services as counter_services
from counters.models import Case, Ticket
from devices.decorators import device_required
from devices.models import HallDevice
from langzhong_si.dates import month_first_parse
from langzhong_si.versions import TICKETS, next_minute, poll_etag, polled_screen, user_key
from ratings import selectors, services
from ratings.models import Appeal, FollowUp, Rating
from staff.decorators import role_required
from staff.roles import Role
from staff.selectors import user_roles


def _messages_from(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@device_required(HallDevice.Kind.PAD)
def rating_pad(request):
    """The tablet at a window, registered as that window's pad: it offers the service
    just finished there, once, for a few minutes."""
    pad = request.hall_device
    context = _pad_context(pad)
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
    return render(request, "ratings/rating_pad.html", context)


def _pad_showing(request) -> str:
    """What the pad shows, as its poll says: the ticket whose form it is ("" for none),
    and "!" after it when a refusal is shown too (taken away at the next poll)."""
    showing = request.GET.get("showing", "")
    ticket = showing if showing.isascii() and showing.isdigit() and len(showing) <= 12 else ""
    return ticket + ("!" if request.GET.get("refused") else "")


def _rating_pad_poll_etag(request) -> str | None:
    """What the pad should show moves when a ticket finishes at its window or is rated (the
    version of the clerk signed on there; the tickets' without one), with the minute (an
    offer runs out) and the language; one ETag per ticket shown."""
    window = request.hall_device.window
    if window is None:
        return None
    key = user_key(window.clerk_id) if window.clerk_id else TICKETS
    now = timezone.now()
    also = f"@{timezone.localtime(now):%H%M}@{get_language()}@{window.pk}:{_pad_showing(request)}"
    return poll_etag(request, key, also=also, turns=next_minute(now))[0]


@polled_screen(_rating_pad_poll_etag, device_required(HallDevice.Kind.PAD))
def rating_pad_poll(request):
    """The pad asks every 3 s whether what it shows is still what it should show: an
    empty 204 while it is (a form being filled in is left alone), else what to show now."""
    pad = request.hall_device
    ticket = selectors.ticket_awaiting_pad_rating(pad.window)
    if str(ticket.pk if ticket else "") == _pad_showing(request):  # a refusal: never
        return HttpResponse(status=204)
    return render(request, "ratings/_rating_pad_body.html", {**_pad_context(pad), "ticket": ticket})


def _pad_context(pad) -> dict:
    return {"window": pad.window, "levels": Rating.Level.choices}


def _whole(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isdigit() else 0


def ticket_page(request, token: str):
    """What the QR code on the slip opens: the ticket's place, its cases, cancel, rate
    the service and each ended case, and appeal the handling of a bad rating."""
    try:
        ticket = counter_selectors.ticket_for_citizen(token)
    except Ticket.DoesNotExist:
        raise Http404 from None
    error = ""
    if request.method == "POST":
        action, post = request.POST.get("action"), request.POST
        try:
            if action == "cancel":
                counter_services.ticket_cancel(public_token=token)
            elif action == "rate":
                services.rating_submit(
                    ticket_id=ticket.pk,
                    level=_whole(post.get("level")),
                    reason=post.get("reason", ""),
                )
            elif action == "rate_completion":
                services.rating_completion_submit(
                    ticket_id=ticket.pk,
                    case_id=_whole(post.get("case")),
                    level=_whole(post.get("level")),
                    reason=post.get("reason", ""),
                )
            elif action == "appeal_handling":
                services.handling_appeal_file(
                    ticket_id=ticket.pk,
                    follow_up_id=_whole(post.get("follow_up")),
                    statement=post.get("statement", ""),
                )
        except (ValidationError, PermissionDenied) as error_:
            error = " ".join(getattr(error_, "messages", [str(error_)]))
        except (FollowUp.DoesNotExist, Case.DoesNotExist):
            raise Http404 from None
        else:
            return redirect("ratings:ticket_page", token=token)
        ticket.refresh_from_db()
    context = {
        "ticket": ticket,
        "ahead": counter_selectors.tickets_ahead(ticket),
        "cases": selectors.ticket_cases_for_citizen(ticket),
        "ratings": list(ticket.ratings.filter(stage=Rating.Stage.ACCEPTANCE).order_by("sequence")),
        "follow_ups": selectors.ticket_follow_ups(ticket),
        "levels": Rating.Level.choices,
        "error": error,
    }
    return render(request, "ratings/ticket_page.html", context, status=400 if error else 200)


@role_required(Role.TEAM_LEAD, Role.WINDOW_LEAD)
def follow_ups(request):
    """差评核实整改: the team lead assigns and reviews; the assignee (or the team lead)
    records the callback and the rectification and reply."""
    if request.method == "POST":
        post, follow_up_id = request.POST, _whole(request.POST.get("follow_up"))
        try:
            action = post.get("action", "record")
            if action == "assign":
                services.follow_up_assign(
                    follow_up_id=follow_up_id,
                    lead=request.user,
                    assignee_id=_whole(post.get("assignee")),
                )
            elif action in ("accept", "return"):
                services.follow_up_review(
                    follow_up_id=follow_up_id,
                    lead=request.user,
                    accept=action == "accept",
                    note=post.get("note", ""),
                )
            else:
                services.follow_up_record(
                    follow_up_id=follow_up_id,
                    lead=request.user,
                    callback_note=post.get("callback_note", ""),
                    reply=post.get("reply", ""),
                )
        except ValidationError as error:
            _messages_from(request, error)
        except FollowUp.DoesNotExist:
            raise Http404 from None
        else:
            messages.success(request, _("Recorded."))
        return redirect("ratings:follow_ups")
    return render(
        request,
        "ratings/follow_ups.html",
        {
            "follow_ups": selectors.follow_ups_for(request.user),
            "assignees": selectors.follow_up_assignees(request.user),
            "is_lead": Role.TEAM_LEAD.value in user_roles(request.user),
            "today": timezone.localdate(),
        },
    )


@role_required(Role.CLERK)
def my_bad_ratings(request):
    """The clerk's bad ratings (date, item, level, reason: never who rated) and their
    appeals (申诉) of the ones they consider unjust."""
    if request.method == "POST":
        try:
            services.rating_appeal_file(
                follow_up_id=_whole(request.POST.get("follow_up")),
                clerk=request.user,
                statement=request.POST.get("statement", ""),
            )
        except ValidationError as error:
            _messages_from(request, error)
        except FollowUp.DoesNotExist:
            raise Http404 from None
        else:
            messages.success(request, _("Your appeal was filed."))
        return redirect("ratings:my_bad_ratings")
    return render(
        request,
        "ratings/my_bad_ratings.html",
        {
            "follow_ups": selectors.bad_ratings_of_clerk(request.user),
            "appeal_days": settings.RATING_APPEAL_DAYS,
        },
    )


@role_required(Role.TEAM_LEAD, Role.AUDITOR)
def appeals(request):
    """Pending appeals, each decided with reasons by someone not involved in it."""
    if request.method == "POST":
        try:
            services.appeal_decide(
                appeal_id=_whole(request.POST.get("appeal")),
                decider=request.user,
                uphold=request.POST.get("decision") == "uphold",
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as error:
            _messages_from(request, error)
        except Appeal.DoesNotExist:
            raise Http404 from None
        else:
            messages.success(request, _("The decision was recorded."))
        return redirect("ratings:appeals")
    return render(
        request, "ratings/appeals.html", {"appeals": selectors.pending_appeals_for(request.user)}
    )


def results(request):
    """好差评 结果公开: the month's satisfaction, bad ratings and their resolution, for
    the agency, per site and per item. Public, no sign-in, no personal data. The agency
    is the one `?agency=` names, else the home agency (as on the guide pages)."""
    agency = public_agency(request.GET.get("agency"))
    this_month = timezone.localdate().replace(day=1)
    try:
        first = month_first_parse(request.GET["month"]) if request.GET.get("month") else None
    except ValidationError as error:
        return render(
            request,
            "ratings/results.html",
            {"error": " ".join(error.messages), "month": this_month, "agency": agency},
            status=400,
        )
    if first is None:
        # Last month by default: the current one is still being rated and handled.
        first = (this_month - timezone.timedelta(days=1)).replace(day=1)
    context = selectors.monthly_results(first, agency_id=agency.pk)
    context.update(
        minimum=settings.RATING_RESULTS_MIN_COUNT, agency=agency, agencies=public_agencies()
    )
    return render(request, "ratings/results.html", context)

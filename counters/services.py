from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case as DbCase
from django.db.models import Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from catalog.models import ServiceItem
from catalog.selectors import item_offered_check, item_switch_offs
from counters.models import (
    NumberSequence,
    Queue,
    Ticket,
    Window,
)
from counters.selectors import DISPATCH_UNAVAILABLE
from counters.transitions import (
    ticket_transition,
    window_transition,
)
from devices.models import HallDevice
from draws.models import Draw
from draws.services import draw_record
from langzhong_si.batch import audit_writes_batched
from langzhong_si.calendar import hall_is_open, hall_next_opening
from langzhong_si.compiled import CompiledRead
from langzhong_si.errors import StateConflict
from langzhong_si.identity import (
    id_number_birth_date,
    id_number_digest,
    id_number_validate,
)
from langzhong_si.saves import record_create
from langzhong_si.text import (
    PAUSE_REASON_MAX_LENGTH,
    REASON_MAX_LENGTH,
    text_clean,
)
from langzhong_si.versions import TICKETS, versions_bump
from sites.defaults import agency_id_of_site, home_site_id
from sites.models import Site
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

W = Window.State


def number_take(*, day, key: str) -> int:
    """The next number of the per-day sequence `key` (queue numbers here, case numbers in
    cases.services), taken inside the caller's business transaction in one statement.

    On PostgreSQL from a SEQUENCE of the day's own (counters_number_next, migration
    counters 0015): `nextval` locks no row and commits nothing, so concurrent takers
    never wait for one another's transaction, and it costs no commit of its own. A
    sequence is not transactional: a number taken by work that then rolls back is
    skipped, so queue and case numbers may have gaps (nothing counts on them being
    consecutive, unlike draw numbers). Only a day's first takers of a key may wait, once,
    for the transaction that made its sequence. Elsewhere (SQLite, one writer at a
    time anyway) the day's NumberSequence row is incremented by one upsert.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT counters_number_next(%s, %s)", [day, key])
            return cursor.fetchone()[0]
    table = connection.ops.quote_name(NumberSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("day", "key", "last") VALUES (%s, %s, 1) '  # noqa: S608 - the model's own table
            f'ON CONFLICT ("day", "key") DO UPDATE SET "last" = {table}."last" + 1 '
            'RETURNING "last"',
            [connection.ops.adapt_datefield_value(day), key],
        )
        return cursor.fetchone()[0]


# --- Tickets and the hall dispatch (random 1) -------------------------------------------


def ticket_issue(
    *,
    item: ServiceItem | None,
    is_consultation: bool = False,
    id_number: str = "",
    priority_request: str = "",
    kiosk: HallDevice | None = None,
    queue: str = "",
    booked_slot_start: datetime.datetime | None = None,
    site_id: int | None = None,
    durable: bool = True,
) -> Ticket:
    """Issue the next queue number and hand it to a ready clerk if there is one.

    Citizens aged 70 or over (read from the ID number) are served first at once; a
    disabled or veteran request waits for a window lead's confirmation. The issuing
    `kiosk` is recorded: only it may show the slip, for KIOSK_SLIP_SECONDS. An
    appointment's ticket names its `queue` (no item yet) and `booked_slot_start`, and is
    issued inside the check-in's transaction (`durable=False`).

    The ticket belongs to a site: the kiosk's, else `site_id` (a channel that names its
    site), else the home hall (set-up paths that cannot know one). Its number counts per
    site, day and queue, and only that site's ready windows may be drawn for it.
    """
    site_id, switched_off = ticket_site_resolve(kiosk=kiosk, site_id=site_id, item=item)
    number = id_number_validate(id_number) if id_number else ""
    digest = id_number_digest(number) if number else ""
    priority_reason, is_priority = "", False
    if number and _age_on(id_number_birth_date(number), timezone.localdate()) >= 70:
        priority_reason, is_priority = Ticket.PriorityReason.AGE_70, True
    elif priority_request in (Ticket.PriorityReason.DISABLED, Ticket.PriorityReason.VETERAN):
        priority_reason = priority_request
    if item is None and not is_consultation and not queue:
        raise ValidationError(_("Choose a service item or consultation."), code="item")
    hall_open_check(timezone.localtime())
    if item is not None:  # the kiosk lists the agency's items; a forged request is refused
        item_offered_check(
            agency_id=agency_id_of_site(site_id), item=item, switched_off=switched_off
        )
    if not queue:
        queue = Queue.BACK_OFFICE if item is not None and not item.at_counter else Queue.HALL
    today = timezone.localdate()
    try:
        return _ticket_create(
            item=item, is_consultation=is_consultation, digest=digest, queue=queue,
            today=today, is_priority=is_priority, site_id=site_id,
            priority_reason=priority_reason, kiosk=kiosk,
            booked_slot_start=booked_slot_start, durable=durable,
        )  # fmt: skip
    except IntegrityError as error:
        # Two requests for the same ID number and queue at once: the database's
        # counters_ticket_one_open_per_id_queue let one through; the other is refused
        # as if it had come second.
        if not digest:
            raise
        raise StateConflict(
            _("This ID number already holds a ticket in this queue. Wait to be called, or "
              "cancel that ticket first."),
            code="already_waiting",
        ) from error  # fmt: skip


def _ticket_create(
    *,
    item,
    is_consultation,
    digest,
    queue,
    today,
    is_priority,
    priority_reason,
    kiosk,
    booked_slot_start,
    site_id,
    durable,
) -> Ticket:
    with transaction.atomic(durable=durable), audit_writes_batched():
        cancelled = (
            Ticket.objects.filter(
                service_date=today, applicant_id_digest=digest, status=Ticket.Status.CANCELLED
            ).count()
            if digest
            else 0
        )
        held = (
            Ticket.objects.filter(
                service_date=today,
                queue=queue,
                applicant_id_digest=digest,
                status__in=[Ticket.Status.WAITING, Ticket.Status.SERVING],
            ).first()
            if digest
            else None
        )
        if held is not None:
            # One place in a queue per person: a second ticket would only be a way to
            # wait twice, or to try for another clerk. (A back-office matter is another
            # queue, and may be waited for at the same time.)
            raise StateConflict(
                _("This ID number already holds ticket %(number)s in this queue. Wait to be "
                  "called, or cancel that ticket first.") % {"number": held.display_number},
                code="already_waiting",
            )  # fmt: skip
        ticket = record_create(
            Ticket,
            site_id=site_id,
            agency_id=agency_id_of_site(site_id),
            service_date=today,
            queue=queue,
            sequence=number_take(day=today, key=ticket_sequence_key(site_id, queue)),
            item=item,
            is_consultation=is_consultation,
            is_priority=is_priority,
            priority_reason=priority_reason,
            applicant_id_digest=digest,
            earlier_cancellations=cancelled,
            flagged_retake=cancelled >= settings.RETAKE_FLAG_AFTER_CANCELLATIONS,
            issued_at=timezone.now(),
            issued_by=kiosk,
            booked_slot_start=booked_slot_start,
        )
        if ticket.flagged_retake:
            audit_event_record(
                event_type="ticket.retake_flagged",
                obj=ticket,
                data={"earlier_cancellations": cancelled},
            )
        audit_event_record(
            event_type="ticket.issued",
            obj=ticket,
            data={
                "number": ticket.display_number,
                "item": item.code if item else "",
                "kiosk": kiosk.pk if kiosk else None,
            },
        )
        versions_bump(TICKETS)
        _hall_dispatch(queue=queue, site_id=site_id)
    return ticket


def ticket_sequence_key(site_id: int, queue: str) -> str:
    """The per-day number sequence of one site's queue: two sites both have A001."""
    return f"ticket-{site_id}-{queue}"


# An active site, with whether its agency switched the item off; compiled once.
_SITE_ISSUING = CompiledRead(
    lambda site_id, item_id: (
        Site.objects.filter(pk=site_id, active=True)
        .order_by()
        .only("pk")
        .annotate(
            item_switched_off=Exists(
                item_switch_offs(agency_id=OuterRef("agency_id"), item=item_id)
            )
        )
    )
)


def ticket_site_resolve(
    *, kiosk: HallDevice | None, site_id: int | None, item: ServiceItem | None = None
) -> tuple[int, bool | None]:
    """The site a ticket is issued at: the kiosk's; else the site named; else the home
    hall. An unknown or closed-down site issues nothing. With it, for a site named and
    an `item`, whether the site's agency switched the item off (read in the same query;
    None: not read)."""
    if kiosk is not None:
        if site_id is not None and site_id != kiosk.site_id:
            raise ValidationError(
                _("This kiosk issues tickets only for its own site."), code="other_site"
            )
        return kiosk.site_id, None
    if site_id is None:
        return home_site_id(), None
    if item is None:
        if not Site.objects.filter(pk=site_id, active=True).exists():
            raise ValidationError(_("This site does not issue tickets."), code="site")
        return site_id, None
    found = _SITE_ISSUING.first(site_id, item.pk)
    if found is None:
        raise ValidationError(_("This site does not issue tickets."), code="site")
    return site_id, found.item_switched_off


class HallClosed(StateConflict):
    """A ticket asked for outside the hall's opening hours (the API answers 409)."""

    def __init__(self, next_opening):
        self.next_opening = next_opening
        super().__init__(
            _("The hall is closed. It opens again on %(when)s.")
            % {"when": date_format(next_opening, "Y-m-d H:i")},
            code="hall_closed",
        )


def hall_open_check(moment) -> None:
    """Refuse (HallClosed, with the next opening) outside settings.HALL_HOURS on the
    working-day calendar, unless HALL_HOURS_ENFORCED is off."""
    if settings.HALL_HOURS_ENFORCED and not hall_is_open(moment, settings.HALL_HOURS):
        raise HallClosed(hall_next_opening(moment, settings.HALL_HOURS))


def hall_next_open(moment: datetime.datetime) -> datetime.datetime | None:
    """When the hall opens next, if it is closed at `moment` (None: open now)."""
    try:
        hall_open_check(moment)
    except HallClosed as closed:
        return closed.next_opening
    return None


def _age_on(birth, day) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def ticket_cancel(*, public_token: str) -> Ticket:
    """The citizen gives up a ticket (from the ticket page). Counted, so that cancelling
    and re-taking to fish for another clerk shows up."""
    with transaction.atomic(durable=True):
        ticket = Ticket.objects.select_for_update().get(public_token=public_token)
        if ticket.status not in (Ticket.Status.WAITING, Ticket.Status.SERVING):
            raise ValidationError(
                _("This ticket can no longer be cancelled."), code="ticket_closed"
            )
        if ticket.cases.exists():
            raise ValidationError(_("A case was opened for this ticket."), code="ticket_has_case")
        if ticket.status == Ticket.Status.SERVING:
            window = Window.objects.select_for_update().get(pk=ticket.window_id)
            _window_release(window, ticket, status=Ticket.Status.CANCELLED, actor=None)
        else:
            ticket.finished_at = timezone.now()
            ticket_transition(
                ticket=ticket, to=Ticket.Status.CANCELLED, actor=None, fields=("finished_at",)
            )
    return ticket


def ticket_priority_confirm(*, ticket_id: int, lead) -> Ticket:
    """A window lead confirms a disabled or veteran citizen's priority request."""
    if not user_has_role(lead, Role.WINDOW_LEAD):
        raise PermissionDenied(_("Only a window lead confirms priority service."))
    with transaction.atomic(durable=True):
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        ticket_in_scope_check(ticket, lead)
        if (
            ticket.status != Ticket.Status.WAITING
            or ticket.is_priority
            or not ticket.priority_reason
        ):
            raise ValidationError(
                _("This ticket has no pending priority request."), code="no_request"
            )
        ticket.is_priority = True
        ticket.priority_confirmed_by = lead
        ticket.save(update_fields=["is_priority", "priority_confirmed_by"])
        audit_event_record(
            event_type="ticket.priority_confirmed",
            actor=lead,
            obj=ticket,
            data={"reason": ticket.priority_reason},
        )
    return ticket


def ticket_requeue(*, ticket_id: int, lead, reason: str) -> Ticket:
    """A window lead puts a no-show back in the queue, once, with a reason."""
    reason = text_clean(reason, field=_("Reason"), max_length=REASON_MAX_LENGTH)
    if not user_has_role(lead, Role.WINDOW_LEAD):
        raise PermissionDenied(_("Only a window lead re-queues a ticket."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for re-queuing."), code="reason")
    with transaction.atomic(durable=True):
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        ticket_in_scope_check(ticket, lead)
        if ticket.status != Ticket.Status.NO_SHOW or ticket.service_date != timezone.localdate():
            raise ValidationError(_("Only today's no-shows can be re-queued."), code="not_no_show")
        if ticket.requeue_count >= 1:
            raise ValidationError(_("A ticket is re-queued at most once."), code="requeued")
        ticket.requeue_count = 1
        ticket.recall_count = 0
        ticket.window = None
        ticket.clerk = None
        ticket.called_at = None
        ticket.first_called_at = None
        ticket.finished_at = None
        # Back of the queue: a re-queued citizen does not overtake those who waited.
        ticket.issued_at = timezone.now()
        ticket_transition(
            ticket=ticket, to=Ticket.Status.WAITING, actor=lead, data={"reason": reason},
            fields=("requeue_count", "recall_count", "window", "clerk", "called_at",
                    "first_called_at", "finished_at", "issued_at"),
        )  # fmt: skip
        _hall_dispatch(queue=ticket.queue, site_id=ticket.site_id)
    return ticket


def ticket_in_scope_check(ticket: Ticket, user) -> None:
    """A lead acts only on tickets of the sites they see, and never with a read-only view
    (the city viewer): another site's ticket is as if it did not exist."""
    scope = scope_of(user)
    if not scope.allows_site(ticket.site_id):
        raise Ticket.DoesNotExist
    if scope.read_only:
        raise PermissionDenied(_("A read-only view cannot change tickets."))


def waiting_order(now: datetime.datetime) -> tuple:
    """The order the dispatch takes waiting tickets in: priority service first, then
    appointment tickets whose booked slot has started, then order of issue. (An early
    appointment waits as a walk-in until its slot starts; a late one was issued as a
    walk-in by appointments.services.)"""
    slot_started = DbCase(
        When(booked_slot_start__lte=now, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return ("-is_priority", slot_started, "issued_at", "pk")


# The drawn window, locked if it is still ready with the drawn clerk; compiled once.
_WINDOW_STILL_READY = CompiledRead(
    lambda window_id, clerk_id: Window.objects.select_for_update(skip_locked=True).filter(
        pk=window_id, state=W.READY, clerk_id=clerk_id
    )[:1]
)


# The next waiting ticket of a site's queue, locked unless another dispatch holds it;
# compiled once (its order compares the booked slots with the time: a key too).
_NEXT_WAITING = CompiledRead(
    lambda site_id, service_date, queue, now: (
        Ticket.objects.select_for_update(skip_locked=True)
        .filter(
            site_id=site_id, service_date=service_date, queue=queue, status=Ticket.Status.WAITING
        )
        .order_by(*waiting_order(now))
    ),
    keys=(int, datetime.date, str, datetime.datetime),
)


# A site's ready windows of a queue with their clerks, by key; compiled once.
_READY_POOL = CompiledRead(
    lambda site_id, queue: (
        Window.objects.filter(site_id=site_id, queue=queue, state=W.READY, clerk__isnull=False)
        .order_by("pk")
        .only("pk", "clerk_id")
    ),
    keys=(int, str),
)


def _hall_dispatch(*, queue: str, site_id: int, window_ready: bool = False) -> int:
    """Pair waiting tickets of one site's queue with clerks drawn at random among that
    site's ready windows of the queue (tickets and the random clerk stay within a site).

    The next waiting ticket is locked with SKIP LOCKED (a concurrent dispatch takes the
    one after). The ready pool is read as it stands, without locks, and drawn from;
    only the chosen window is then locked, SKIP LOCKED and on condition that it is still
    ready with the drawn clerk. When it is not, that draw stays recorded and the ticket
    is drawn again from the rest of the pool, the next draw naming the clerk left out
    (`DISPATCH_UNAVAILABLE`), so the subject's series shows every attempt. A dispatch
    never waits for a row lock: two never deadlock nor take one window, and a clerk's
    own ready, pause or finish waits only for a dispatch that has chosen their window.
    Returns the pairs made.

    A new ticket's dispatch reads the ready pool first (in a busy hall none is ready, and
    no ticket need be looked at); a window just made ready (`window_ready`) looks for a
    waiting ticket first (in a quiet hall none waits, and no pool need be read).
    """
    paired = 0
    today = timezone.localdate()
    while True:
        # clerk → window, as committed (and as this transaction changed its own window).
        pool = None if window_ready else _ready_pool(site_id, queue)
        if pool == {}:
            return paired
        ticket = _NEXT_WAITING.first(site_id, today, queue, timezone.now())
        if ticket is None:
            return paired
        pool = _ready_pool(site_id, queue) if pool is None else pool
        window_ready, window, left_out = False, None, []
        while window is None and pool:
            draw = draw_record(
                purpose=Draw.Purpose.TICKET_DISPATCH,
                subject=f"ticket:{ticket.pk}",
                pool=list(pool),
                excluded=list(left_out),
                agency_id=ticket.agency_id,
                scope="site",
            )
            window = _WINDOW_STILL_READY.first(pool.pop(draw.chosen_id), draw.chosen_id)
            if window is None:
                left_out.append({"user": draw.chosen_id, "reason": DISPATCH_UNAVAILABLE})
        if window is None:
            return paired  # every ready window was taken meanwhile: the ticket waits
        ticket.window = window
        ticket.clerk_id = window.clerk_id
        ticket.called_at = ticket.first_called_at = timezone.now()
        window.current_ticket = ticket
        window_transition(window=window, to=W.SERVING, actor=None, fields=("current_ticket",))
        ticket_transition(
            ticket=ticket, to=Ticket.Status.SERVING, actor=None,
            fields=("window", "clerk", "called_at", "first_called_at"),
            data={"window": window.number, "clerk": window.clerk_id, "draw": draw.pk},
        )  # fmt: skip
        paired += 1
        if not pool:
            # No other window was ready when the pool was read; one that became ready
            # since dispatches for itself (its ready, or its finish, runs this too).
            return paired


def _ready_pool(site_id: int, queue: str) -> dict[int, int]:
    """A site's ready windows of a queue: clerk → window."""
    return {window.clerk_id: window.pk for window in _READY_POOL.all(site_id, queue)}


def hall_dispatch_sweep() -> int:
    """Pair any ticket still waiting while a window is ready (a dispatch that skipped a
    row locked by a concurrent one); run by beat every few seconds."""
    paired = 0
    waiting = (
        Ticket.objects.filter(service_date=timezone.localdate(), status=Ticket.Status.WAITING)
        .values_list("site_id", "queue")
        .distinct()
        .order_by("site_id", "queue")
    )
    for site_id, queue in list(waiting):
        with transaction.atomic(durable=True):
            paired += _hall_dispatch(queue=queue, site_id=site_id)
    return paired


def _locked_window_of(clerk) -> Window:
    window = Window.objects.select_for_update().filter(clerk=clerk).first()
    if window is None:
        raise ValidationError(_("Sign on to a window first."), code="no_window")
    return window


def window_sign_on(*, clerk, window_id: int) -> Window:
    with transaction.atomic(durable=True):
        if Window.objects.filter(clerk=clerk).exclude(pk=window_id).exists():
            raise ValidationError(_("You are already signed on to another window."))
        window = Window.objects.select_for_update().get(pk=window_id)
        if not clerk_works_at(clerk, window.site_id):
            raise ValidationError(
                _("Window %(number)s is at %(site)s, where you do not work: sign on to a "
                  "window of your own site.") % {"number": window.number, "site": window.site},
                code="other_site",
            )  # fmt: skip
        if window.clerk_id not in (None, clerk.pk):
            raise ValidationError(_("Another clerk is signed on to this window."))
        if window.clerk_id == clerk.pk:
            return window  # already signed on here: nothing changes
        window.clerk = clerk
        window_transition(window=window, to=W.PAUSED, actor=clerk, fields=("clerk",))
    return window


def clerk_works_at(clerk, site_id: int) -> bool:
    """Whether the staff member works at the site (StaffProfile.sites): a clerk signs on
    only there, whatever else their role lets them see."""
    return Site.objects.filter(pk=site_id, staff_profiles__user=clerk).exists()


def window_sign_off(*, clerk) -> None:
    with transaction.atomic(durable=True):
        window = _locked_window_of(clerk)
        if window.state == W.SERVING:
            raise ValidationError(_("Finish the current ticket before signing off."))
        window.clerk = None
        window_transition(window=window, to=W.OFFLINE, actor=clerk, fields=("clerk",))


def window_release_at_sign_out(*, clerk) -> bool:
    """A clerk's session ended (signed out, or ended for idleness): a window of theirs that
    is ready or paused goes offline, so the dispatch stops calling citizens to an empty
    counter. A window serving a ticket stays with its clerk, who signs in again to finish.
    True when a window was released."""
    with transaction.atomic(durable=True):
        window = Window.objects.select_for_update().filter(clerk=clerk).first()
        if window is None or window.state == W.SERVING:
            return False
        window.clerk = None
        window_transition(
            window=window, to=W.OFFLINE, actor=clerk, fields=("clerk",),
            data={"reason": "session_ended"},
        )  # fmt: skip
    return True


def window_declare_ready(*, clerk) -> Window:
    """The clerk is ready: the system, not the clerk, decides which ticket comes."""
    with transaction.atomic(durable=True), audit_writes_batched():
        window = _locked_window_of(clerk)
        if window.state == W.SERVING:
            raise ValidationError(_("Finish the current ticket first."), code="serving")
        if window.state != W.READY:
            window.pause_reason = ""
            window_transition(window=window, to=W.READY, actor=clerk, fields=("pause_reason",))
        dispatched = _hall_dispatch(queue=window.queue, site_id=window.site_id, window_ready=True)
    if dispatched:  # a ticket may have been handed to this window: read it as it is now
        window.refresh_from_db()
    return window


def window_pause(*, clerk, reason: str) -> Window:
    reason = text_clean(reason, field=_("Reason"), max_length=PAUSE_REASON_MAX_LENGTH)
    with transaction.atomic(durable=True):
        window = _locked_window_of(clerk)
        if window.state == W.SERVING:
            raise ValidationError(_("Finish the current ticket first."), code="serving")
        window.pause_reason = reason
        window_transition(
            window=window, to=W.PAUSED, actor=clerk, fields=("pause_reason",),
            data={"reason": reason},
        )  # fmt: skip
    return window


def _serving_window(clerk_id):
    return (
        Window.objects.select_for_update(of=("self", "current_ticket"))
        .select_related("current_ticket")
        .filter(clerk_id=clerk_id, current_ticket__isnull=False)
    )


_SERVING_WINDOW = CompiledRead(lambda clerk_id: _serving_window(clerk_id)[:1])
# The same, with whether the ticket's agency switched an item off (the intake's check).
_SERVING_WINDOW_FOR_ITEM = CompiledRead(
    lambda clerk_id, item_id: _serving_window(clerk_id).annotate(
        item_switched_off=Exists(
            item_switch_offs(agency_id=OuterRef("current_ticket__agency_id"), item=item_id)
        )
    )[:1]
)


def serving_ticket(clerk, *, item_id: int | None = None) -> tuple[Window, Ticket]:
    """The clerk's window and the ticket it is serving, both row-locked until the caller's
    transaction ends (the ticket's actions here, case intake in cases.services); refused
    when no ticket is being served there. With `item_id`, the window also carries
    `item_switched_off`: whether the ticket's agency switched that item off (read in the
    same statement, for catalog.selectors.item_offered_check)."""
    # One statement locks both, the window's row first as before. The filter on the
    # current ticket makes the join an inner one: PostgreSQL refuses FOR UPDATE on the
    # nullable side of an outer join, so it must stay.
    if item_id is None:
        window = _SERVING_WINDOW.first(clerk.pk)
    else:
        window = _SERVING_WINDOW_FOR_ITEM.first(clerk.pk, item_id)
    if window is None or window.state != W.SERVING:
        _locked_window_of(clerk)  # "Sign on to a window first." when there is none
        raise ValidationError(_("No ticket is being served at your window."), code="not_serving")
    return window, window.current_ticket


def _window_release(
    window: Window,
    ticket: Ticket,
    *,
    status: str,
    actor,
    data: dict | None = None,
    pause_reason: str = "",
) -> None:
    """The ticket being served ends (`status`, recorded) and the window goes back to
    ready, as the clerk was before it came, and takes the next waiting ticket if the
    draw gives it one; with a `pause_reason` (the clerk's "finish, then pause") it
    pauses instead. A window never shows "paused" when its clerk did not pause."""
    window.current_ticket = None
    ticket.finished_at = timezone.now()
    ticket_transition(ticket=ticket, to=status, actor=actor, fields=("finished_at",), data=data)
    if pause_reason:
        window.pause_reason = pause_reason
        window_transition(
            window=window, to=W.PAUSED, actor=actor, fields=("current_ticket", "pause_reason"),
            data={"reason": pause_reason},
        )  # fmt: skip
        return
    window.pause_reason = ""
    window_transition(
        window=window, to=W.READY, actor=actor, fields=("current_ticket", "pause_reason")
    )
    _hall_dispatch(queue=window.queue, site_id=window.site_id, window_ready=True)


MAX_RECALLS = 3


def no_show_recalls_required(ticket: Ticket) -> int:
    """Calls again (F3) before a no-show: NO_SHOW_MIN_RECALLS, one more for a citizen with
    priority (aged 70+, or a disabled or veteran request), who may be slower to come."""
    extra = 1 if ticket.is_priority or ticket.priority_reason else 0
    return settings.NO_SHOW_MIN_RECALLS + extra


def _recall_limit(ticket: Ticket) -> int:
    return max(MAX_RECALLS, no_show_recalls_required(ticket))


def no_show_allowed_at(ticket: Ticket) -> datetime.datetime | None:
    """The earliest moment a no-show may be recorded, counted from the first call."""
    first = ticket.first_called_at or ticket.called_at
    if first is None:
        return None
    return first + datetime.timedelta(seconds=settings.NO_SHOW_MIN_WAIT_SECONDS)


def ticket_recall(*, clerk) -> Ticket:
    with transaction.atomic(durable=True):
        window, ticket = serving_ticket(clerk)
        limit = _recall_limit(ticket)
        if ticket.recall_count >= limit:
            raise ValidationError(
                _("This ticket has been recalled %(n)d times: record a no-show.") % {"n": limit},
                code="recall_limit",
            )
        ticket.recall_count += 1
        ticket.called_at = timezone.now()
        ticket.save(update_fields=["recall_count", "called_at"])
        versions_bump(TICKETS)  # the call display calls the number again
        audit_event_record(
            event_type="ticket.recalled",
            actor=clerk,
            obj=ticket,
            data={"window": window.number, "recall": ticket.recall_count},
        )
    return ticket


def ticket_no_show(*, clerk, pause_reason: str = "") -> Ticket:
    """Record that the citizen called did not come: only after NO_SHOW_MIN_RECALLS calls
    again (one more for priority) and NO_SHOW_MIN_WAIT_SECONDS since the first call. A
    refusal says what is still needed and changes nothing."""
    pause_reason = text_clean(pause_reason, field=_("Reason"), max_length=PAUSE_REASON_MAX_LENGTH)
    with transaction.atomic(durable=True):
        window, ticket = serving_ticket(clerk)
        if ticket.cases.exists():
            raise ValidationError(_("A case was opened for this ticket: finish it instead."))
        missing = no_show_recalls_required(ticket) - ticket.recall_count
        if missing > 0:
            # One key must not send a citizen away: they are called again first.
            raise StateConflict(
                _("Too early for a no-show: call %(number)s again first, %(n)d more call(s).")
                % {"number": ticket.display_number, "n": missing},
                code="recall_first",
            )
        allowed_at = no_show_allowed_at(ticket)
        now = timezone.now()
        if allowed_at is not None and now < allowed_at:
            # Called and recalled within seconds: the citizen may still be on the way.
            wait = int((allowed_at - now).total_seconds()) + 1
            raise StateConflict(
                _("Too early for a no-show: give %(number)s %(n)d more second(s) to come to "
                  "the window.") % {"number": ticket.display_number, "n": wait},
                code="wait_first",
            )  # fmt: skip
        _window_release(
            window, ticket, status=Ticket.Status.NO_SHOW, actor=clerk,
            data={"window": window.number, "recalls": ticket.recall_count},
            pause_reason=pause_reason,
        )  # fmt: skip
    return ticket


def ticket_finish(*, clerk, pause_reason: str = "") -> Ticket:
    """The service ends; the window is ready again (and may be handed the next ticket at
    once), or paused when the clerk gives a `pause_reason`."""
    pause_reason = text_clean(pause_reason, field=_("Reason"), max_length=PAUSE_REASON_MAX_LENGTH)
    with transaction.atomic(durable=True), audit_writes_batched():
        window, ticket = serving_ticket(clerk)
        _window_release(
            window, ticket, status=Ticket.Status.DONE, actor=clerk,
            data={"window": window.number}, pause_reason=pause_reason,
        )  # fmt: skip
    return ticket

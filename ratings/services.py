"""好差评: the citizen rates a finished service (at the window's pad, or later from the
ticket page); a bad rating opens the team lead's follow-up."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from counters.models import Ticket, Window
from devices.models import HallDevice
from langzhong_si.calendar import working_days_after
from langzhong_si.text import COMMENT_MAX_LENGTH, RATING_REASON_MAX_LENGTH, text_clean
from ratings.models import FollowUp, Rating
from staff.roles import Role
from staff.selectors import user_has_role, users_with_role
from staff.services import notification_send


def rating_submit(*, ticket_id: int, level: int, reason: str = "", window=None) -> Rating:
    """Record the citizen's rating of a finished service: the first at the window
    (`window` given: see rating_pad_submit), one later addition from the ticket page.
    A bad rating needs a reason and opens a follow-up."""
    return _rating_record(ticket_id=ticket_id, level=level, reason=reason, window=window)


def rating_pad_submit(*, pad: HallDevice, ticket_id: int, level: int, reason: str = "") -> Rating:
    """A rating from a window's pad (the device authenticated by its credential). The pad
    rates only its window's most recently finished service, once, within
    RATING_PAD_MINUTES: never an older one, another window's, or one already rated."""
    if pad.kind != HallDevice.Kind.PAD or not pad.enabled or pad.window_id is None:
        raise PermissionDenied(_("Only a registered rating pad rates at a window."))
    return _rating_record(
        ticket_id=ticket_id, level=level, reason=reason, window=pad.window, pad=pad
    )


def _rating_record(
    *, ticket_id: int, level: int, reason: str, window: Window | None, pad=None
) -> Rating:
    reason = text_clean(reason, field=_("Reason"), max_length=RATING_REASON_MAX_LENGTH)
    if level not in Rating.Level.values:
        raise ValidationError(_("Choose one of the five levels."), code="level")
    if level in Rating.BAD_LEVELS and not reason:
        raise ValidationError(_("Please tell us what went wrong."), code="reason")
    with transaction.atomic(durable=True):
        if window is not None:
            # The window's row first, as finishing a service does: the "latest finished"
            # read below cannot race a finish at the same window.
            Window.objects.select_for_update().get(pk=window.pk)
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if window is not None and ticket.window_id != window.pk:
            raise PermissionDenied(_("This pad rates only its own window's services."))
        if ticket.status != Ticket.Status.DONE:
            raise ValidationError(_("Only a finished service can be rated."), code="not_done")
        taken = set(ticket.ratings.values_list("sequence", flat=True))
        sequence = 1 if not taken else 2
        if sequence in taken or (window is not None and taken):
            raise ValidationError(_("This service has already been rated."), code="rated")
        if window is not None:
            _pad_may_rate(window_id=window.pk, ticket=ticket)
        rating = Rating.objects.create(
            ticket=ticket,
            window_id=ticket.window_id,
            clerk_id=ticket.clerk_id,
            sequence=sequence,
            level=level,
            reason=reason,
        )
        audit_event_record(
            event_type="rating.submitted",
            obj=rating,
            data={
                "ticket": ticket.pk,
                "level": level,
                "sequence": sequence,
                "pad": pad.pk if pad is not None else None,
            },
        )
        if level in Rating.BAD_LEVELS:
            today = timezone.localdate()
            follow_up = FollowUp.objects.create(
                rating=rating,
                callback_due=working_days_after(today, settings.FOLLOW_UP_CALLBACK_DAYS),
                reply_due=working_days_after(today, settings.FOLLOW_UP_REPLY_DAYS),
            )
            audit_event_record(event_type="follow_up.opened", obj=follow_up)
            for lead in users_with_role(Role.TEAM_LEAD):
                notification_send(
                    recipient=lead,
                    message=_("A bad rating for ticket %(number)s needs a callback by %(due)s.")
                    % {"number": ticket.display_number, "due": follow_up.callback_due},
                    link=reverse("ratings:follow_ups"),
                    dedupe_key=f"follow-up:{follow_up.pk}:{lead.pk}",
                )
    return rating


def _pad_may_rate(*, window_id: int, ticket: Ticket) -> None:
    latest = (
        Ticket.objects.filter(window_id=window_id, finished_at__isnull=False)
        .order_by("-finished_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if latest != ticket.pk:
        raise ValidationError(
            _("Only the service just finished at this window can be rated here."),
            code="not_latest",
        )
    since = timezone.now() - timezone.timedelta(minutes=settings.RATING_PAD_MINUTES)
    if ticket.finished_at < since:
        raise ValidationError(
            _(
                "The time to rate this service at the window has passed; it can still be "
                "rated from the QR code on the ticket."
            ),
            code="pad_expired",
        )


def follow_up_record(
    *, follow_up_id: int, lead, callback_note: str = "", reply: str = ""
) -> FollowUp:
    """The team lead records the callback and, later, the written reply."""
    callback_note = text_clean(
        callback_note, field=_("Callback note"), max_length=COMMENT_MAX_LENGTH
    )
    reply = text_clean(reply, field=_("Reply"), max_length=COMMENT_MAX_LENGTH)
    if not user_has_role(lead, Role.TEAM_LEAD):
        raise PermissionDenied(_("Only the team lead handles rating follow-ups."))
    with transaction.atomic(durable=True):
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up_id)
        now = timezone.now()
        changed = []
        if callback_note.strip() and follow_up.callback_at is None:
            follow_up.callback_at, follow_up.callback_note = now, callback_note.strip()
            changed += ["callback_at", "callback_note"]
        if reply.strip() and follow_up.replied_at is None:
            follow_up.replied_at, follow_up.reply = now, reply.strip()
            changed += ["replied_at", "reply"]
        if not changed:
            raise ValidationError(_("Nothing new to record."), code="nothing")
        follow_up.handled_by = lead
        follow_up.save(update_fields=[*changed, "handled_by"])
        audit_event_record(
            event_type="follow_up.updated", actor=lead, obj=follow_up, data={"fields": changed}
        )
    return follow_up

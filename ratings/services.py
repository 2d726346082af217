"""好差评: the citizen rates a service at acceptance (the window's pad, or later from the
ticket page) and a case at completion; a bad rating opens its handling (核实整改: assigned,
called back, rectified and replied to, reviewed by the team lead); the rated clerk may
appeal a bad rating and the citizen the handling (申诉), decided by someone else."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from counters.models import Case, Ticket, Window
from devices.models import HallDevice
from langzhong_si.calendar import working_days_after
from langzhong_si.text import COMMENT_MAX_LENGTH, RATING_REASON_MAX_LENGTH, text_clean
from langzhong_si.versions import TICKETS, user_key, versions_bump
from ratings.models import Appeal, FollowUp, Rating
from ratings.selectors import COMPLETION_RATED_STATES
from ratings.transitions import appeal_transition, follow_up_transition
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role, user_roles, users_with_role
from staff.services import notification_send

FS = FollowUp.Status


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
        at_window = None
        if window is not None:
            # The window's row first, as finishing a service does: the "latest finished"
            # read below cannot race a finish at the same window.
            at_window = Window.objects.select_for_update().get(pk=window.pk)
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if window is not None and ticket.window_id != window.pk:
            raise PermissionDenied(_("This pad rates only its own window's services."))
        if ticket.status != Ticket.Status.DONE:
            raise ValidationError(_("Only a finished service can be rated."), code="not_done")
        taken = set(
            ticket.ratings.filter(stage=Rating.Stage.ACCEPTANCE).values_list("sequence", flat=True)
        )
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
            _follow_up_open(rating=rating, ticket=ticket)
        # The pads' polls (ratings.views): the service rated is offered no more.
        clerks = {ticket.clerk_id, getattr(at_window, "clerk_id", None)} - {None}
        versions_bump(TICKETS, *(user_key(clerk_id) for clerk_id in clerks))
    return rating


def rating_completion_submit(
    *, ticket_id: int, case_id: int, level: int, reason: str = ""
) -> Rating:
    """The citizen's rating of a case's completion (办结), from its ticket's page: once
    per case, after the case has ended. The clerk rated is the one who accepted it."""
    reason = text_clean(reason, field=_("Reason"), max_length=RATING_REASON_MAX_LENGTH)
    if level not in Rating.Level.values:
        raise ValidationError(_("Choose one of the five levels."), code="level")
    if level in Rating.BAD_LEVELS and not reason:
        raise ValidationError(_("Please tell us what went wrong."), code="reason")
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.ticket_id != ticket_id:
            raise Case.DoesNotExist
        case.ticket = Ticket.objects.get(pk=ticket_id)
        if case.status not in COMPLETION_RATED_STATES:
            raise ValidationError(
                _("A case can be rated at completion once it has ended."), code="not_completed"
            )
        if Rating.objects.filter(case=case, stage=Rating.Stage.COMPLETION).exists():
            raise ValidationError(_("This case has already been rated."), code="rated")
        rating = Rating.objects.create(
            ticket=case.ticket,
            window_id=case.ticket.window_id,
            clerk_id=case.handler_id,
            stage=Rating.Stage.COMPLETION,
            case=case,
            level=level,
            reason=reason,
        )
        audit_event_record(
            event_type="rating.submitted",
            obj=rating,
            data={"case": case.pk, "stage": rating.stage, "level": level},
        )
        if level in Rating.BAD_LEVELS:
            _follow_up_open(rating=rating, ticket=case.ticket)
    return rating


def _follow_up_open(*, rating: Rating, ticket: Ticket) -> FollowUp:
    today = timezone.localdate()
    follow_up = FollowUp.objects.create(
        rating=rating,
        callback_due=working_days_after(today, settings.FOLLOW_UP_CALLBACK_DAYS),
        reply_due=working_days_after(today, settings.FOLLOW_UP_REPLY_DAYS),
    )
    audit_event_record(event_type="follow_up.opened", obj=follow_up)
    for lead in _agency_people(users_with_role(Role.TEAM_LEAD), rating.agency_id):
        notification_send(
            recipient=lead,
            message=_("A bad rating for ticket %(number)s needs a callback by %(due)s.")
            % {"number": ticket.display_number, "due": follow_up.callback_due},
            link=reverse("ratings:follow_ups"),
            dedupe_key=f"follow-up:{follow_up.pk}:{lead.pk}",
        )
    return follow_up


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


def _lock_follow_up(follow_up_id: int, person=None) -> FollowUp:
    """The follow-up, locked; with `person`, only one of a rating given at a site they
    may act for (another agency's or another station's is as if it did not exist)."""
    follow_up = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("rating")
        .get(pk=follow_up_id)
    )
    if person is not None:
        scope = scope_of(person)
        if scope.read_only or not scope.allows_site(follow_up.rating.site_id):
            raise FollowUp.DoesNotExist
    return follow_up


def _agency_people(queryset, agency_id: int):
    """Those of `queryset` who work at a site of the agency."""
    return queryset.filter(staff_profile__sites__agency_id=agency_id).distinct()


def follow_up_assign(*, follow_up_id: int, lead, assignee_id: int) -> FollowUp:
    """The team lead gives a bad rating's verification and rectification to a team lead
    or window lead, never to the rated clerk (who must not learn who rated)."""
    if not user_has_role(lead, Role.TEAM_LEAD):
        raise PermissionDenied(_("Only the team lead assigns rating follow-ups."))
    with transaction.atomic(durable=True):
        follow_up = _lock_follow_up(follow_up_id, lead)
        assignee = _agency_people(
            (users_with_role(Role.TEAM_LEAD) | users_with_role(Role.WINDOW_LEAD)).filter(
                pk=assignee_id, is_active=True
            ),
            follow_up.rating.agency_id,
        ).first()
        if assignee is None:
            raise ValidationError(
                _("Assign the follow-up to an active team lead or window lead."), code="assignee"
            )
        if assignee.pk == follow_up.rating.clerk_id:
            raise ValidationError(
                _("The rated clerk cannot handle their own bad rating."), code="rated_clerk"
            )
        if follow_up.status not in (FS.OPEN, FS.VERIFIED):
            raise ValidationError(
                _("Only a follow-up still being verified or rectified can be assigned."),
                code="follow_up_state",
            )
        follow_up.assignee = assignee
        follow_up.save(update_fields=["assignee"])
        audit_event_record(
            event_type="follow_up.assigned",
            actor=lead,
            obj=follow_up,
            data={"assignee": assignee.pk},
        )
        notification_send(
            recipient=assignee,
            message=_("A bad rating was assigned to you: call back by %(due)s.")
            % {"due": follow_up.callback_due},
            link=reverse("ratings:follow_ups"),
            dedupe_key=f"follow-up-assigned:{follow_up.pk}:{assignee.pk}",
        )
    return follow_up


def _may_handle(person, follow_up: FollowUp) -> bool:
    if person.pk == follow_up.rating.clerk_id:
        return False
    if follow_up.assignee_id is not None:
        return person.pk == follow_up.assignee_id or user_has_role(person, Role.TEAM_LEAD)
    return user_has_role(person, Role.TEAM_LEAD)


def follow_up_record(
    *, follow_up_id: int, lead, callback_note: str = "", reply: str = ""
) -> FollowUp:
    """The assignee (or a team lead) records the callback (回访核实: open → verified) and,
    later, the rectification and the reply given to the citizen (verified → replied)."""
    callback_note = text_clean(
        callback_note, field=_("Callback note"), max_length=COMMENT_MAX_LENGTH
    ).strip()
    reply = text_clean(reply, field=_("Reply"), max_length=COMMENT_MAX_LENGTH).strip()
    if not callback_note and not reply:
        raise ValidationError(_("Nothing new to record."), code="nothing")
    with transaction.atomic(durable=True):
        follow_up = _lock_follow_up(follow_up_id, lead)
        if not _may_handle(lead, follow_up):
            raise PermissionDenied(
                _("Only the person assigned (or the team lead) handles this follow-up.")
            )
        now = timezone.now()
        follow_up.handled_by = lead
        if callback_note:
            follow_up.callback_at, follow_up.callback_note = now, callback_note
            follow_up_transition(
                follow_up=follow_up, to=FS.VERIFIED, actor=lead,
                fields=("callback_at", "callback_note", "handled_by"),
            )  # fmt: skip
        if reply:
            follow_up.replied_at, follow_up.reply = now, reply
            follow_up_transition(
                follow_up=follow_up, to=FS.REPLIED, actor=lead,
                fields=("replied_at", "reply", "handled_by"),
                data={"late": now.date() > follow_up.reply_due},
            )  # fmt: skip
    return follow_up


def _appeal_pending(follow_up: FollowUp) -> bool:
    return follow_up.appeals.filter(status=Appeal.Status.PENDING).exists()


def follow_up_review(*, follow_up_id: int, lead, accept: bool, note: str = "") -> FollowUp:
    """The team lead's review of a replied follow-up: accept (closed) or return it for
    more rectification, with the reasons. Nobody reviews a handling they recorded."""
    note = text_clean(note, field=_("Review note"), max_length=COMMENT_MAX_LENGTH).strip()
    if not user_has_role(lead, Role.TEAM_LEAD):
        raise PermissionDenied(_("Only the team lead reviews the handling of a bad rating."))
    if not accept and not note:
        raise ValidationError(_("Say what is still to be rectified."), code="note")
    with transaction.atomic(durable=True):
        follow_up = _lock_follow_up(follow_up_id, lead)
        if lead.pk in (follow_up.handled_by_id, follow_up.rating.clerk_id):
            raise PermissionDenied(
                _("Nobody reviews a handling they recorded or a rating of their own service.")
            )
        if _appeal_pending(follow_up):
            raise ValidationError(
                _("An appeal about this rating is pending: it is decided first."),
                code="appeal_pending",
            )
        follow_up.reviewed_by, follow_up.reviewed_at = lead, timezone.now()
        follow_up.review_note = note
        fields = ("reviewed_by", "reviewed_at", "review_note")
        if accept:
            follow_up_transition(follow_up=follow_up, to=FS.CLOSED, actor=lead, fields=fields)
        else:
            follow_up.replied_at = None
            follow_up_transition(
                follow_up=follow_up, to=FS.VERIFIED, actor=lead, fields=(*fields, "replied_at")
            )
    return follow_up


def _deciders_notify(appeal: Appeal) -> None:
    deciders = users_with_role(Role.TEAM_LEAD) | users_with_role(Role.AUDITOR)
    for person in _agency_people(deciders, appeal.follow_up.rating.agency_id):
        notification_send(
            recipient=person,
            message=_("An appeal about a bad rating awaits a decision."),
            link=reverse("ratings:appeals"),
            dedupe_key=f"appeal:{appeal.pk}:{person.pk}",
        )


def _working_days_since(day: datetime.date, days: int) -> bool:
    """Whether today is still within `days` working days after `day`."""
    return timezone.localdate() <= working_days_after(day, days)


def rating_appeal_file(*, follow_up_id: int, clerk, statement: str) -> Appeal:
    """The rated clerk appeals a bad rating they consider unjust (误评, 恶意差评), once,
    within RATING_APPEAL_DAYS working days, while its handling is unfinished."""
    statement = text_clean(statement, field=_("Grounds"), max_length=COMMENT_MAX_LENGTH).strip()
    if not statement:
        raise ValidationError(_("Give the grounds of the appeal."), code="statement")
    with transaction.atomic(durable=True):
        follow_up = _lock_follow_up(follow_up_id)
        if follow_up.rating.clerk_id != clerk.pk:
            raise PermissionDenied(_("Only the clerk rated may appeal this rating."))
        if follow_up.status not in (FS.OPEN, FS.VERIFIED, FS.REPLIED):
            raise ValidationError(
                _("This rating's handling is finished: it can no longer be appealed."),
                code="follow_up_state",
            )
        rated_on = timezone.localdate(follow_up.rating.created_at)
        if not _working_days_since(rated_on, settings.RATING_APPEAL_DAYS):
            raise ValidationError(_("The time to appeal this rating has passed."), code="late")
        if follow_up.appeals.filter(kind=Appeal.Kind.RATING).exists():
            raise ValidationError(_("This rating has already been appealed."), code="appealed")
        appeal = Appeal.objects.create(
            follow_up=follow_up, kind=Appeal.Kind.RATING, appellant=clerk, statement=statement
        )
        audit_event_record(
            event_type="appeal.filed", actor=clerk, obj=appeal, data={"kind": appeal.kind}
        )
        _deciders_notify(appeal)
    return appeal


def handling_appeal_file(*, ticket_id: int, follow_up_id: int, statement: str) -> Appeal:
    """The citizen appeals the handling of their bad rating (from the ticket's page),
    once, within HANDLING_APPEAL_DAYS working days of the reply."""
    statement = text_clean(statement, field=_("Grounds"), max_length=COMMENT_MAX_LENGTH).strip()
    if not statement:
        raise ValidationError(_("Tell us what was wrong with the handling."), code="statement")
    with transaction.atomic(durable=True):
        follow_up = _lock_follow_up(follow_up_id)
        if follow_up.rating.ticket_id != ticket_id:
            raise FollowUp.DoesNotExist
        if follow_up.status not in (FS.REPLIED, FS.CLOSED) or follow_up.replied_at is None:
            raise ValidationError(
                _("The handling can be appealed once you have had the reply."),
                code="follow_up_state",
            )
        replied_on = timezone.localdate(follow_up.replied_at)
        if not _working_days_since(replied_on, settings.HANDLING_APPEAL_DAYS):
            raise ValidationError(_("The time to appeal this handling has passed."), code="late")
        if follow_up.appeals.filter(kind=Appeal.Kind.HANDLING).exists():
            raise ValidationError(_("This handling has already been appealed."), code="appealed")
        appeal = Appeal.objects.create(
            follow_up=follow_up, kind=Appeal.Kind.HANDLING, statement=statement
        )
        audit_event_record(event_type="appeal.filed", obj=appeal, data={"kind": appeal.kind})
        _deciders_notify(appeal)
    return appeal


def appeal_decide(*, appeal_id: int, decider, uphold: bool, reason: str) -> Appeal:
    """A team lead or auditor decides an appeal, with reasons. Never the appellant, and
    never someone who handled or reviewed the handling in question. An upheld appeal of
    a rating annuls its follow-up (the rating no longer counts as bad); an upheld appeal
    of the handling sends it back for rectification with a fresh reply date."""
    reason = text_clean(reason, field=_("Reasons"), max_length=COMMENT_MAX_LENGTH).strip()
    if not {Role.TEAM_LEAD.value, Role.AUDITOR.value} & user_roles(decider):
        raise PermissionDenied(_("Only a team lead or an auditor decides appeals."))
    if not reason:
        raise ValidationError(_("Give the reasons for the decision."), code="reason")
    with transaction.atomic(durable=True):
        appeal = Appeal.objects.select_for_update().get(pk=appeal_id)
        try:
            follow_up = _lock_follow_up(appeal.follow_up_id, decider)
        except FollowUp.DoesNotExist:
            raise Appeal.DoesNotExist from None
        involved = {
            appeal.appellant_id,
            follow_up.rating.clerk_id,
            follow_up.assignee_id,
            follow_up.handled_by_id,
            follow_up.reviewed_by_id,
        }
        if decider.pk in involved:
            raise PermissionDenied(
                _("An appeal is decided by someone not involved in the rating or its handling.")
            )
        appeal.decided_by, appeal.decided_at = decider, timezone.now()
        appeal.decision_reason = reason
        to = Appeal.Status.UPHELD if uphold else Appeal.Status.DISMISSED
        appeal_transition(
            appeal=appeal, to=to, actor=decider,
            fields=("decided_by", "decided_at", "decision_reason"), data={"kind": appeal.kind},
        )  # fmt: skip
        if uphold and appeal.kind == Appeal.Kind.RATING:
            follow_up_transition(
                follow_up=follow_up, to=FS.ANNULLED, actor=decider, data={"appeal": appeal.pk}
            )
        elif uphold:
            follow_up.replied_at = None
            follow_up.reply_due = working_days_after(
                timezone.localdate(), settings.FOLLOW_UP_REPLY_DAYS
            )
            follow_up_transition(
                follow_up=follow_up, to=FS.VERIFIED, actor=decider,
                fields=("replied_at", "reply_due"), data={"appeal": appeal.pk},
            )  # fmt: skip
    return appeal

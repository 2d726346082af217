import datetime
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from audit.kinds import event_kinds
from audit.models import AuditEvent


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def audit_log_page(
    *,
    event_type: str = "",
    before: int | None = None,
    person: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    size: int = 100,
    agency_ids: Iterable[int] | None = None,
    deployment_wide: bool = False,
):
    """One page of the audit log, newest first (keyset paging by the event's key, so
    events still waiting for the sequencer are listed too, as "waiting").

    `event_type` is a declared kind (exactly) or a prefix such as "auth."; `person` a
    username or display name, matched as the actor, the target account, or the account
    named in a failed sign-in; `since`/`until` are inclusive local dates; `agency_ids`
    (None: every agency) narrows the page to those agencies' events, with the
    deployment-wide ones (no agency) too if `deployment_wide`."""

    events = audit_events_of_agencies(
        AuditEvent.objects.select_related("actor__staff_profile").order_by("-id"),
        agency_ids=agency_ids,
        deployment_wide=deployment_wide,
    )
    if event_type in event_kinds():
        events = events.filter(event_type=event_type)
    elif event_type:
        events = events.filter(event_type__startswith=event_type)
    if person:
        people = list(
            get_user_model()
            .objects.filter(Q(username=person) | Q(staff_profile__display_name=person))
            .values_list("pk", flat=True)
        )
        events = events.filter(
            Q(actor_id__in=people)
            | Q(object_type="auth.user", object_id__in=[str(pk) for pk in people])
            | Q(event_type="auth.sign_in_failed", data__username=person)
        )
    if since:
        events = events.filter(occurred_at__gte=_local_midnight(since))
    if until:
        events = events.filter(occurred_at__lt=_local_midnight(until + datetime.timedelta(days=1)))
    if before:
        events = events.filter(id__lt=before)
    return list(events[:size])


def audit_events_of_agencies(
    events=None, *, agency_ids: Iterable[int] | None, deployment_wide: bool = False
):
    """`events` (by default the whole log) narrowed to the events of `agency_ids`
    (None: no narrowing), and the deployment-wide events (no agency) if asked; the
    screens pass the viewer's scope (staff.scope) here."""
    events = AuditEvent.objects.all() if events is None else events
    if agency_ids is None:
        return events
    wanted = Q(agency_id__in=list(agency_ids))
    if deployment_wide:
        wanted |= Q(agency_id__isnull=True)
    return events.filter(wanted)

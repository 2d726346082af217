"""Upward reporting's writes: recording a delivery with its business event, attempting
it, retrying with exponential backoff, the dead letter and the team lead's resend."""

import datetime
import logging
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from langzhong_si.text import CHANGE_REASON_MAX_LENGTH, text_clean
from outbox.services import outbox_enqueue
from reporting.models import PLATFORM_OF, Delivery, DeliveryAttempt
from reporting.payloads import delivery_payload
from reporting.tasks_names import REPORT_DELIVER_TASK
from reporting.transitions import delivery_claim, delivery_finish, delivery_reopen
from reporting.transports import Result, transport_current
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

logger = logging.getLogger(__name__)
S = Delivery.Status


def reporting_enabled() -> bool:
    return settings.REPORTING_TRANSPORT != "off"


def delivery_key(*, kind: str, object_id: int) -> str:
    """The idempotency key: the sender, the kind and the record, stable for ever."""
    return f"{settings.REPORTING_SENDER_ID}:{kind}:{object_id}"


def delivery_record(
    *, kind: str, object_id: int, occurred_at: datetime.datetime, agency_id: int | None = None
) -> None:
    """Record that a business event is to be reported, in the caller's transaction (the
    event's own): two INSERTs, no read; if the transaction rolls back nothing is sent.
    Recording the same event twice is a no-op (its key)."""
    key = delivery_key(kind=kind, object_id=object_id)
    Delivery.objects.bulk_create(
        [
            Delivery(
                key=key,
                platform=PLATFORM_OF[kind],
                kind=kind,
                object_id=object_id,
                agency_id=agency_id,
                occurred_at=occurred_at,
                next_attempt_at=occurred_at,
            )
        ],
        ignore_conflicts=True,
    )
    outbox_enqueue(task_name=REPORT_DELIVER_TASK, kwargs={"key": key}, dedupe_key=f"report:{key}")


def retry_delay(failures: int) -> datetime.timedelta:
    """Exponential backoff: base, 2 × base, 4 × base … up to the cap."""
    base = settings.REPORTING_BACKOFF_SECONDS
    seconds = min(base * 2 ** max(failures - 1, 0), settings.REPORTING_BACKOFF_MAX_SECONDS)
    return datetime.timedelta(seconds=seconds)


def delivery_attempt(*, key: str, now: datetime.datetime | None = None) -> str:
    """Try to hand one delivery over, if it is due and no one else is; returns its
    status afterwards. Safe to run twice and from several workers: the claim lets one
    attempt through, and the platform deduplicates on the key. Never raises for a
    failure of the far side; the network is never used inside a transaction."""
    transport = transport_current()
    if transport is None:
        return "off"
    now = now or timezone.now()
    lease = datetime.timedelta(seconds=settings.REPORTING_TIMEOUT_SECONDS * 3 + 30)
    delivery = delivery_claim(key=key, now=now, lease=lease)
    if delivery is None:
        return Delivery.objects.filter(key=key).values_list("status", flat=True).first() or ""
    payload = delivery.payload
    started = time.monotonic()
    try:
        if payload is None:
            payload = delivery_payload(delivery)  # built once, then resent byte for byte
        result = transport.send(platform=delivery.platform, key=key, payload=payload)
    except Exception as error:  # noqa: BLE001 - a bug here must not lose the delivery
        logger.exception("report %s could not be sent by %s", key, transport.name)
        result = Result(False, error=f"{type(error).__name__}: {error}", retry=True)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _outcome_record(
        delivery=delivery, payload=payload, transport=transport.name, result=result,
        now=now, duration_ms=duration_ms,
    ).status  # fmt: skip


def _outcome_record(
    *, delivery: Delivery, payload: dict, transport: str, result: Result, now, duration_ms: int
) -> Delivery:
    failures = delivery.failures + (0 if result.delivered else 1)
    fields = {
        "payload": payload,
        "transport": transport,
        "failures": failures,
        "last_status_code": result.status_code,
        "last_error": result.error[:300],
    }
    if result.delivered:
        acknowledged = bool(result.acknowledged_id)
        to = S.ACKNOWLEDGED if acknowledged else S.SENT
        outcome = (
            DeliveryAttempt.Outcome.ACKNOWLEDGED if acknowledged else DeliveryAttempt.Outcome.SENT
        )
        fields.update(acknowledged_id=result.acknowledged_id, finished_at=now, next_attempt_at=None)
    elif result.retry and failures < settings.REPORTING_MAX_ATTEMPTS:
        to, outcome = S.RETRYING, DeliveryAttempt.Outcome.RETRY
        fields["next_attempt_at"] = now + retry_delay(failures)
    else:
        to = S.DEAD
        outcome = DeliveryAttempt.Outcome.RETRY if result.retry else DeliveryAttempt.Outcome.REFUSED
        fields.update(finished_at=now, next_attempt_at=None)
    with transaction.atomic():
        finished = delivery_finish(
            delivery=delivery, attempt=delivery.attempts, to=to, fields=fields,
            data={"key": delivery.key, "attempts": delivery.attempts,
                  "status_code": result.status_code, "error": result.error[:200]},
        )  # fmt: skip
        if finished is None:  # taken over by another worker after a stall: its outcome counts
            return Delivery.objects.get(pk=delivery.pk)
        DeliveryAttempt.objects.create(
            delivery=finished,
            number=delivery.attempts,
            transport=transport,
            started_at=now,
            duration_ms=duration_ms,
            outcome=outcome,
            status_code=result.status_code,
            error=result.error[:300],
        )
    return finished


def deliveries_retry_due(*, now: datetime.datetime | None = None, limit: int = 20) -> int:
    """Attempt the deliveries whose retry is due, whose attempt stalled, or that the
    outbox has not delivered a while after their commit; returns how many were tried."""
    if not reporting_enabled():
        return 0
    now = now or timezone.now()
    grace = datetime.timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS * 6)
    due = Delivery.objects.filter(
        status__in=[S.PENDING, S.SENDING, S.RETRYING], next_attempt_at__lte=now
    ).exclude(status=S.PENDING, created_at__gt=now - grace)
    keys = list(due.order_by("next_attempt_at").values_list("key", flat=True)[:limit])
    for key in keys:
        delivery_attempt(key=key, now=now)
    return len(keys)


def delivery_resend(*, delivery_id: int, lead, reason: str) -> Delivery:
    """The team lead sends a failed delivery again (after the platform or the codes were
    put right): it goes back to the queue with a fresh round of retries, the same key
    and the same body; the resend is an audit event naming the lead and the reason."""
    scope = scope_of(lead)
    if not user_has_role(lead, Role.TEAM_LEAD) or scope.read_only:
        raise PermissionDenied(_("Only the team lead resends failed reports."))
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)
    if not reason:
        raise ValidationError(_("Say why the report is sent again."), code="reason")
    now = timezone.now()
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.agency_id is not None and not scope.allows_agency(delivery.agency_id):
            raise Delivery.DoesNotExist  # another agency's report is not the lead's to see
        delivery_reopen(delivery=delivery, actor=lead, now=now, reason=reason)
        outbox_enqueue(
            task_name=REPORT_DELIVER_TASK,
            kwargs={"key": delivery.key},
            dedupe_key=f"report:{delivery.key}:resend:{delivery.resends}",
        )
    return delivery

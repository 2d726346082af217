import logging
from datetime import timedelta

from celery import current_app as app  # the project's app (langzhong_si.celery), by reference
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from outbox.models import OutboxMessage

logger = logging.getLogger(__name__)


def outbox_enqueue(*, task_name: str, kwargs: dict, dedupe_key: str) -> int | None:
    """Record work to run after the caller's transaction commits; returns the new
    message's id, or None when the same work (its dedupe key) was recorded already.

    Must be called inside that transaction: if it rolls back, the message is gone and
    nothing is sent. One statement (INSERT … ON CONFLICT DO NOTHING), no savepoint.
    """
    table = OutboxMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (task_name, kwargs, dedupe_key, created_at, send_attempts, "  # noqa: S608 - the model's own table name
            "last_error) VALUES (%s, %s, %s, %s, 0, '') "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            [
                task_name,
                OutboxMessage._meta.get_field("kwargs").get_db_prep_save(kwargs, connection),
                dedupe_key,
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    message_id = row[0]
    transaction.on_commit(
        lambda: outbox_message_relay(message_id=message_id, task_name=task_name, kwargs=kwargs)
    )
    return message_id


def outbox_message_relay(
    *, message_id: int, task_name: str | None = None, kwargs: dict | None = None
) -> bool:
    """Send one message to the broker and mark it sent (counting the attempt); False if
    the broker refused. The relay right after commit passes the message's task and
    arguments, so a successful send costs one statement."""
    if task_name is None:
        row = (
            OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True)
            .values_list("task_name", "kwargs")
            .first()
        )
        if row is None:
            return True
        task_name, kwargs = row
    if not _message_send(message_id=message_id, task_name=task_name, kwargs=kwargs):
        return False
    _messages_mark_sent([message_id])
    return True


def _message_send(*, message_id: int, task_name: str, kwargs: dict) -> bool:
    """Hand one message to the broker (or run it inline when tasks are eager); a refusal
    is counted on the message and returns False."""
    if app.conf.task_always_eager:
        # Tests and one-process set-ups run the task inline; its errors must surface.
        app.tasks[task_name].apply(kwargs=kwargs, throw=True)
        return True
    try:
        app.send_task(task_name, kwargs=kwargs)
    except Exception as error:  # noqa: BLE001 - any broker failure leaves it for the sweep
        logger.warning("outbox relay of message %s failed: %s", message_id, error)
        OutboxMessage.objects.filter(pk=message_id).update(
            send_attempts=F("send_attempts") + 1, last_error=str(error)[:500]
        )
        return False
    return True


def _messages_mark_sent(message_ids: list[int]) -> None:
    """One statement (one commit) for every message just sent."""
    if message_ids:
        OutboxMessage.objects.filter(pk__in=message_ids).update(
            send_attempts=F("send_attempts") + 1, sent_at=timezone.now(), last_error=""
        )


def outbox_relay_pending(*, limit: int = 500) -> int:
    """Re-send messages that were not sent shortly after their commit; returns the count
    sent. One read for the batch and one write marking every message sent: a message
    sent but not yet marked when the process dies is sent again by the next sweep (its
    task is idempotent)."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    pending = OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
    sent = []
    try:
        for message_id, task_name, kwargs in pending.order_by("created_at").values_list(
            "pk", "task_name", "kwargs"
        )[:limit]:
            if not _message_send(message_id=message_id, task_name=task_name, kwargs=kwargs):
                break  # the broker is down; the next sweep tries again
            sent.append(message_id)
    finally:
        _messages_mark_sent(sent)  # also those sent before an eager task raised
    return len(sent)

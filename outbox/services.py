import logging
from datetime import timedelta

from celery import current_app as app  # the project's app (langzhong_si.celery), by reference
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outbox.models import OutboxMessage

logger = logging.getLogger(__name__)


def outbox_enqueue(*, task_name: str, kwargs: dict, dedupe_key: str) -> OutboxMessage:
    """Record work to run after the caller's transaction commits.

    Must be called inside that transaction: if it rolls back, the message is gone and
    nothing is sent.
    """
    message, created = OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe_key, defaults={"task_name": task_name, "kwargs": kwargs}
    )
    if created:
        transaction.on_commit(lambda: outbox_message_relay(message_id=message.pk))
    return message


def outbox_message_relay(*, message_id: int) -> bool:
    """Send one message to the broker and mark it sent; False if the broker refused."""
    message = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).first()
    if message is None:
        return True
    OutboxMessage.objects.filter(pk=message_id).update(send_attempts=F("send_attempts") + 1)
    if app.conf.task_always_eager:
        # Tests and one-process set-ups run the task inline; its errors must surface.
        app.tasks[message.task_name].apply(kwargs=message.kwargs, throw=True)
    else:
        try:
            app.send_task(message.task_name, kwargs=message.kwargs)
        except Exception as error:  # noqa: BLE001 - any broker failure leaves it for the sweep
            logger.warning("outbox relay of %s failed: %s", message.dedupe_key, error)
            OutboxMessage.objects.filter(pk=message_id).update(last_error=str(error)[:500])
            return False
    OutboxMessage.objects.filter(pk=message_id).update(sent_at=timezone.now(), last_error="")
    return True


def outbox_relay_pending(*, limit: int = 500) -> int:
    """Re-send messages that were not sent shortly after their commit; returns the count sent."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    pending = OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
    sent = 0
    for message_id in pending.order_by("created_at").values_list("pk", flat=True)[:limit]:
        if outbox_message_relay(message_id=message_id):
            sent += 1
        else:
            break  # the broker is down; the next sweep tries again
    return sent

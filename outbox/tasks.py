from celery import shared_task

from outbox.services import outbox_relay_pending


@shared_task(name="outbox.tasks.outbox_relay_sweep")
def outbox_relay_sweep() -> int:
    return outbox_relay_pending()

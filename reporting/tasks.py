from celery import shared_task

from outbox.services import outbox_message_done
from reporting import services
from reporting.tasks_names import REPORT_DELIVER_TASK, REPORTS_RETRY_DUE_TASK


@shared_task(name=REPORT_DELIVER_TASK)
def report_deliver(key: str, outbox_message_id: int | None = None) -> str:
    # Retries are the delivery's own (next_attempt_at and the sweep below), not Celery's:
    # they survive restarts and never wait longer than the broker's visibility timeout.
    outcome = services.delivery_attempt(key=key)
    outbox_message_done(message_id=outbox_message_id)
    return outcome


@shared_task(name=REPORTS_RETRY_DUE_TASK)
def reports_retry_due() -> int:
    return services.deliveries_retry_due()

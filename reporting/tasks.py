from celery import shared_task

from reporting import services
from reporting.tasks_names import REPORT_DELIVER_TASK, REPORTS_RETRY_DUE_TASK


@shared_task(name=REPORT_DELIVER_TASK)
def report_deliver(key: str) -> str:
    # Retries are the delivery's own (next_attempt_at and the sweep below), not Celery's:
    # they survive restarts and never wait longer than the broker's visibility timeout.
    return services.delivery_attempt(key=key)


@shared_task(name=REPORTS_RETRY_DUE_TASK)
def reports_retry_due() -> int:
    return services.deliveries_retry_due()

"""Celery adapters: take ids, call one service, own the retry policy.

Every service called here is idempotent, and the broker redelivers a task whose
worker died (acks_late + reject_on_worker_lost in settings), so each runs to its
effect exactly once.
"""

from celery import shared_task
from django.db import OperationalError

from outbox.services import outbox_message_done
from risk import services


@shared_task(
    name=services.REVIEW_DRAW_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def review_task_draw(task_id: int, outbox_message_id: int | None = None) -> None:
    services.review_task_draw(task_id=task_id, outbox_message_id=outbox_message_id)


@shared_task(name="risk.tasks.review_tasks_redraw_overdue")
def review_tasks_redraw_overdue() -> int:
    return services.review_tasks_redraw_overdue()


@shared_task(name=services.RETRY_AWAITING_TASK)
def review_tasks_retry_awaiting(outbox_message_id: int | None = None) -> int:
    drawn = services.review_tasks_retry_awaiting()
    outbox_message_done(message_id=outbox_message_id)  # each draw is its own transaction
    return drawn


@shared_task(name="risk.tasks.review_tasks_warn_due_soon")
def review_tasks_warn_due_soon() -> int:
    return services.review_tasks_warn_due_soon()


@shared_task(name="risk.tasks.recusal_reminders_send")
def recusal_reminders_send() -> int:
    return services.recusal_reminders_send()

from celery import shared_task

from appointments import services
from outbox.services import outbox_message_done


@shared_task(
    name=services.TEXT_SEND_TASK,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def appointment_text_send(text_id: int, outbox_message_id: int | None = None) -> bool:
    sent = services.appointment_text_send(text_id=text_id)
    outbox_message_done(message_id=outbox_message_id)  # the text went out (or had already)
    return sent


@shared_task(name="appointments.tasks.appointment_reminders_send")
def appointment_reminders_send() -> int:
    return services.appointment_reminders_send()


@shared_task(name="appointments.tasks.appointment_no_shows_record", expires=240)
def appointment_no_shows_record() -> int:
    return services.appointment_no_shows_record()

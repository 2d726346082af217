from celery import shared_task

from appointments import services


@shared_task(
    name=services.TEXT_SEND_TASK,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def appointment_text_send(text_id: int) -> bool:
    return services.appointment_text_send(text_id=text_id)


@shared_task(name="appointments.tasks.appointment_reminders_send")
def appointment_reminders_send() -> int:
    return services.appointment_reminders_send()


@shared_task(name="appointments.tasks.appointment_no_shows_record", expires=240)
def appointment_no_shows_record() -> int:
    return services.appointment_no_shows_record()

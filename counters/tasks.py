from celery import shared_task

from counters import notices


@shared_task(
    name="counters.tasks.sms_message_send",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def sms_message_send(message_id: int) -> bool:
    return notices.sms_message_send(message_id=message_id)

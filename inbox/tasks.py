from celery import shared_task

from inbox import notices


@shared_task(
    name=notices.SMS_SEND_TASK,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def sms_message_send(message_id: int) -> bool:
    return notices.sms_message_send(message_id=message_id)

from celery import shared_task

from inbox import notices
from outbox.services import outbox_message_done


@shared_task(
    name=notices.SMS_SEND_TASK,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def sms_message_send(message_id: int, outbox_message_id: int | None = None) -> bool:
    sent = notices.sms_message_send(message_id=message_id)
    outbox_message_done(message_id=outbox_message_id)  # the text went out (or had already)
    return sent

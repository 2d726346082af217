"""Notices to citizens (SMS), recorded in the caller's transaction and sent after commit."""

from counters.models import Case, SmsMessage
from langzhong_si.sms import sms_send_once
from outbox.services import outbox_enqueue

# The name it had when the notices lived in counters: outbox rows written before the move
# still name it, and must still run.
SMS_SEND_TASK = "counters.tasks.sms_message_send"


def case_sms_queue(*, case: Case, text: str, event: str) -> None:
    """Record a text to the applicant in the caller's transaction; it is sent after commit."""
    if not case.applicant_phone:
        return
    message, created = SmsMessage.objects.get_or_create(
        dedupe_key=f"case-sms:{case.pk}:{event}",
        defaults={"case": case, "phone": case.applicant_phone, "text": text[:300]},
    )
    if created:
        outbox_enqueue(
            task_name=SMS_SEND_TASK,
            kwargs={"message_id": message.pk},
            dedupe_key=message.dedupe_key,
        )


def sms_message_send(*, message_id: int) -> bool:
    """Send once (a repeated task sends nothing)."""
    return sms_send_once(SmsMessage.objects, pk=message_id)

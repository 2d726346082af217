from celery import shared_task

from counters import notices, services


@shared_task(
    name=notices.SMS_SEND_TASK,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def sms_message_send(message_id: int) -> bool:
    return notices.sms_message_send(message_id=message_id)


@shared_task(name="counters.tasks.hall_dispatch_sweep", ignore_result=True, expires=5)
def hall_dispatch_sweep() -> int:
    return services.hall_dispatch_sweep()


@shared_task(name="counters.tasks.cases_deferral_expire")
def cases_deferral_expire() -> int:
    return services.cases_deferral_expire()

from celery import shared_task

from cases import services


@shared_task(name="cases.tasks.cases_deferral_expire")
def cases_deferral_expire() -> int:
    return services.cases_deferral_expire()

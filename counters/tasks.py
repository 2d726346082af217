from celery import shared_task

from counters import services


@shared_task(name="counters.tasks.hall_dispatch_sweep", ignore_result=True, expires=5)
def hall_dispatch_sweep() -> int:
    return services.hall_dispatch_sweep()

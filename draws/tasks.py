"""Celery adapters: take ids, call one service, own the retry policy."""

from celery import shared_task

from draws import services


@shared_task(name="draws.tasks.daily_seeds_rotate")
def daily_seeds_rotate() -> None:
    services.daily_seeds_rotate()

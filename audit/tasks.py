from celery import shared_task
from django.core.management import call_command

from audit.chain import CHAIN_TASK, audit_chain_run


@shared_task(name="audit.tasks.export_audit_head")
def export_audit_head() -> None:
    call_command("export_audit_head")


@shared_task(name=CHAIN_TASK)
def chain_audit_log() -> int:
    """Beat (every second) and commits that recorded events ask for this; a second run
    while one is going returns at once (the sequencer's lease)."""
    return audit_chain_run().chained

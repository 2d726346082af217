from celery import shared_task
from django.core.management import call_command


@shared_task(name="audit.tasks.export_audit_head")
def export_audit_head() -> None:
    call_command("export_audit_head")

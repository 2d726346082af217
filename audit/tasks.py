from celery import shared_task
from django.core.management import call_command

from audit.rules import CASE_AUDIT_TASK


@shared_task(name="audit.tasks.export_audit_head")
def export_audit_head() -> None:
    call_command("export_audit_head")


@shared_task(name=CASE_AUDIT_TASK)
def case_audit(case_id: int) -> list[str]:
    from audit.rules import case_audit as run

    return run(case_id=case_id)


@shared_task(name="audit.tasks.nightly_audit")
def nightly_audit() -> int:
    from audit.rules import nightly_audit as run

    return run()

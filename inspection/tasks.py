"""Celery adapters of continuous audit. The names stay those of the outbox rows and beat
entries already written (CASE_AUDIT_TASK is what lower layers enqueue)."""

from celery import shared_task

from audit.findings import CASE_AUDIT_TASK, CASE_AUDITS_DRAIN_TASK
from inspection import rules


@shared_task(name=CASE_AUDIT_TASK)
def case_audit(case_id: int, outbox_message_id: int | None = None) -> list[str]:
    return rules.case_audit(case_id=case_id, outbox_message_id=outbox_message_id)


@shared_task(name="audit.tasks.nightly_audit")
def nightly_audit() -> int:
    return rules.nightly_audit()


@shared_task(name=CASE_AUDITS_DRAIN_TASK, bind=True)
def case_audits_drain(self) -> int:
    # Run inline (tests, one-process set-ups), an audit's error surfaces.
    return rules.case_audits_drain(errors_raised=self.app.conf.task_always_eager)

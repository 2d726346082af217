"""The auditors' queue: how any layer puts a finding in it, and the names of the tasks
that inspect finished cases (run by the inspection app; started through the outbox by the
lower layers that finish cases)."""

import json

from django.core.serializers.json import DjangoJSONEncoder

from audit.models import Finding
from audit.services import audit_event_record
from langzhong_si.saves import record_insert

CASE_AUDIT_TASK = "audit.tasks.case_audit"
# The task that audits every finished case waiting, in one transaction (the commit that
# finishes a case nudges it; CASE_AUDIT_TASK is the sweep's fallback, one case at a time).
CASE_AUDITS_DRAIN_TASK = "inspection.tasks.case_audits_drain"


def finding_raise(
    *, rule: str, severity: str, key: str, evidence: dict, case=None, subject=None
) -> bool:
    """Record a finding once (the key makes re-runs harmless); True if it is new."""
    evidence = json.loads(json.dumps(evidence, cls=DjangoJSONEncoder))
    finding = Finding(
        rule=rule, severity=severity, case=case, subject=subject, evidence=evidence,
        dedupe_key=f"{rule}:{key}"[:128],
    )  # fmt: skip
    # Written unless its key is there already: one statement, no savepoint (which would
    # also make an open audit batch write what it holds first).
    if not record_insert(finding, unless_duplicate=("dedupe_key",)):
        return False
    audit_event_record(
        event_type="audit.finding", obj=finding, data={"rule": rule, "severity": severity}
    )
    return True

"""The auditors' queue: how any layer puts a finding in it, and the names of the tasks
that inspect finished cases (run by the inspection app; started through the outbox by the
lower layers that finish cases)."""

from contextlib import contextmanager
from contextvars import ContextVar

from audit.models import Finding
from audit.services import audit_event_record
from langzhong_si.jsonvalue import json_roundtrip
from langzhong_si.saves import record_insert

CASE_AUDIT_TASK = "audit.tasks.case_audit"
# The task that audits every finished case waiting, in one transaction (the commit that
# finishes a case nudges it; CASE_AUDIT_TASK is the sweep's fallback, one case at a time).
CASE_AUDITS_DRAIN_TASK = "inspection.tasks.case_audits_drain"

# Findings raised inside findings_in_key_order(), waiting for the block's end.
_HELD: ContextVar[list[Finding] | None] = ContextVar("findings_held", default=None)


def finding_key(rule: str, key: str) -> str:
    """The key a finding of `rule` about `key` is written once under."""
    return f"{rule}:{key}"[:128]


def finding_raise(
    *, rule: str, severity: str, key: str, evidence: dict, case=None, subject=None
) -> bool:
    """Record a finding once (the key makes re-runs harmless); True if it is new
    (inside findings_in_key_order(), True: it is written, or found there, at the
    block's end)."""
    evidence = json_roundtrip(evidence)
    finding = Finding(
        rule=rule, severity=severity, case=case, subject=subject, evidence=evidence,
        dedupe_key=finding_key(rule, key),
    )  # fmt: skip
    held = _HELD.get()
    if held is not None:
        held.append(finding)
        return True
    return _finding_write(finding)


def _finding_write(finding: Finding) -> bool:
    # Written unless its key is there already: one statement, no savepoint (which would
    # also make an open audit batch write what it holds first).
    if not record_insert(finding, unless_duplicate=("dedupe_key",)):
        return False
    audit_event_record(
        event_type="audit.finding",
        obj=finding,
        data={"rule": finding.rule, "severity": finding.severity},
    )
    return True


@contextmanager
def findings_in_key_order():
    """Write the findings raised in the block when it ends, in the order of their keys
    (the first raised of one key is the one written). Writing a finding waits for any
    other transaction writing the same key, and some keys are shared by many cases (a
    repeated pair's): two transactions auditing several cases each, taking those keys
    in different orders, could each wait for the other until PostgreSQL aborted one.
    Taken in one order, they only wait. An exception leaving the block writes none."""
    if _HELD.get() is not None:  # an outer block writes them
        yield
        return
    held: list[Finding] = []
    token = _HELD.set(held)
    try:
        yield
    finally:
        _HELD.reset(token)
    for finding in sorted(held, key=lambda finding: finding.dedupe_key):
        _finding_write(finding)

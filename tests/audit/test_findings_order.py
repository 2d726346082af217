"""Findings raised in findings_in_key_order() are written at its end, in key order."""

import pytest

from audit.findings import finding_raise, findings_in_key_order
from audit.models import AuditEvent, Finding

pytestmark = pytest.mark.django_db


def _raise(key: str) -> bool:
    return finding_raise(rule="sample", severity="low", key=key, evidence={"key": key})


def test_findings_raised_in_the_block_are_written_at_its_end_in_key_order():
    with findings_in_key_order():
        _raise("b")
        _raise("a")
        assert not Finding.objects.exists()
    assert list(Finding.objects.order_by("pk").values_list("dedupe_key", flat=True)) == [
        "sample:a",
        "sample:b",
    ]
    assert AuditEvent.objects.filter(event_type="audit.finding").count() == 2


def test_the_first_finding_raised_of_a_key_is_the_one_written():
    with findings_in_key_order():
        _raise("a")
        finding_raise(rule="sample", severity="high", key="a", evidence={})
    (finding,) = Finding.objects.all()
    assert (finding.severity, finding.evidence) == ("low", {"key": "a"})


def test_an_exception_leaving_the_block_writes_none_of_its_findings():
    with pytest.raises(RuntimeError), findings_in_key_order():
        _raise("a")
        raise RuntimeError("the audit failed")
    assert not Finding.objects.exists()

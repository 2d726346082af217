"""Reports read from the replica when one is configured; nothing else does."""

from django.conf import settings

from counters.models import Case
from langzhong_si.db_router import ReportReplicaRouter, replica_reads


def test_only_report_reads_go_to_the_replica(monkeypatch):
    router = ReportReplicaRouter()
    monkeypatch.setitem(settings.DATABASES, "replica", {})
    assert router.db_for_read(Case) is None
    with replica_reads():
        assert router.db_for_read(Case) == "replica"
        assert router.db_for_write(Case) == "default"
    assert router.db_for_read(Case) is None


def test_without_a_replica_reports_read_the_primary():
    with replica_reads():
        assert ReportReplicaRouter().db_for_read(Case) is None

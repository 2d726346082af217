"""One registry of audit event kinds: every kind recorded anywhere is declared with its
label, recording an undeclared kind is refused, and the log shows labels."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from audit.kinds import UndeclaredEventKind, event_kinds
from audit.models import AuditEvent
from audit.services import audit_event_record
from counters.transitions import TICKET_TRANSITIONS, WINDOW_TRANSITIONS
from reporting.transitions import DELIVERY_TRANSITIONS
from risk.transitions import REVIEW_TASK_TRANSITIONS
from staff.roles import Role
from tests.factories import make_staff, sign_in

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = [
    "audit", "outbox", "staff", "catalog", "draws", "devices", "counters", "front", "risk",
    "scans", "cases", "inbox", "papers", "ratings", "inspection", "evaluation", "reporting",
    "simulation", "langzhong_si",
]  # fmt: skip


def _kinds_in_the_source() -> set[str]:
    """Every string literal passed as event_type=, in every app, and the kinds named by
    the transition tables and the admin log."""
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.keyword) and node.arg == "event_type":
                    found |= {
                        n.value
                        for n in ast.walk(node.value)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    }
    for table in (
        TICKET_TRANSITIONS,
        WINDOW_TRANSITIONS,
        REVIEW_TASK_TRANSITIONS,
        DELIVERY_TRANSITIONS,
    ):
        found |= {kind for moves in table.values() for kind in moves.values() if kind}
    from audit.admin_log import EVENT_TYPES

    return found | set(EVENT_TYPES.values())


# It reads every source file, as the rule tests that write a sample into the checkout do.
@pytest.mark.xdist_group("checkout")
def test_every_kind_recorded_in_the_code_is_declared():
    assert _kinds_in_the_source() - set(event_kinds()) == set()


def test_every_declared_kind_has_a_chinese_label():
    with translation.override("zh-hans"):
        untranslated = [
            kind
            for kind, label in event_kinds().items()
            if not kind.startswith("test.") and not re.search(r"[\u4e00-\u9fff]", str(label))
        ]
    assert untranslated == []


@pytest.mark.django_db
def test_recording_an_undeclared_kind_is_refused_and_writes_nothing():
    with pytest.raises(UndeclaredEventKind):
        audit_event_record(event_type="ticket.teleported")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_audit_log_shows_labels_not_codes(client):
    reader = make_staff(Role.AUDIT_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    audit_event_record(event_type="window.paused", actor=clerk)
    sign_in(client, reader)
    page = client.get("/audit/log/").content.decode()
    assert "窗口暂停" in page

"""Rules about the code itself that keep the fairness rules enforceable."""

import ast
import re
from pathlib import Path

import pytest

# Its tests write a sample file into the checkout that the scans here read: under
# pytest-xdist they run in one process, one after another.
pytestmark = pytest.mark.xdist_group("checkout")

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "langzhong_si", "staff", "catalog", "draws", "devices", "counters", "front", "risk", "audit",
    "outbox",
]  # fmt: skip


def _sources(apps=APPS):
    for app in apps:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _status_writes(path: Path) -> list[str]:
    """Assignments to a status/state attribute, and bulk updates naming one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in STATUS_FIELDS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"update", "bulk_update"}
            and any(keyword.arg in STATUS_FIELDS for keyword in node.keywords)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


# Every record with a status changes it only in its app's transitions.py (its declared
# table (audit.states.state_move), Finding.result included.
STATUS_FIELDS = {"status", "state", "result"}


def test_every_status_changes_only_in_its_declared_transition_table():
    offenders = [
        write
        for path in _sources(
            [
                *APPS,
                "scans",
                "cases",
                "inbox",
                "papers",
                "ratings",
                "inspection",
                "evaluation",
                "reporting",
                "simulation",
                "security_desk",
            ]
        )
        if path.name != "transitions.py"
        for write in _status_writes(path)
    ]
    assert offenders == []


def test_the_status_rule_sees_a_direct_write():
    sample = ROOT / "counters" / "_status_rule_sample.py"
    try:
        sample.write_text("def f(ticket):\n    ticket.status = 'done'\n")
        assert _status_writes(sample) == ["counters/_status_rule_sample.py:2"]
    finally:
        sample.unlink()


def test_no_code_uses_the_guessable_random_module():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if re.search(r"^\s*(import random|from random import)", path.read_text(), re.M)
    ]
    assert offenders == []


def test_no_url_lets_a_clerk_take_a_chosen_ticket():
    """The workbench offers 'ready', never 'take ticket N': no counter URL carries a
    ticket id that a clerk could choose."""
    from django.urls import get_resolver

    patterns = [str(p.pattern) for p in get_resolver().url_patterns]
    counter = [p for p in _all_routes(get_resolver()) if p.startswith("counter/")]
    assert counter, patterns
    assert not [route for route in counter if "ticket" in route and "<" in route]


def _all_routes(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            yield from _all_routes(pattern, route)
        else:
            yield route

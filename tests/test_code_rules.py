"""Rules about the code itself that keep the fairness rules enforceable."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["langzhong_si", "staff", "catalog", "counters", "risk", "audit", "outbox"]


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_a_case_status_changes_only_in_the_state_machine():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if re.search(r"\bcase\.status\s*=[^=]", path.read_text()) and path.name != "transitions.py"
    ]
    assert offenders == []


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

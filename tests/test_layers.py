"""Imports point one way, down the layer order below, everywhere (inside functions and
migrations too): a lower layer never imports a higher one, and apps of one layer never
import each other. Higher work is started through task-name constants or signals."""

import ast
import io
import tokenize
from collections import defaultdict
from pathlib import Path

import pytest

# Its tests write a sample file into the checkout that the scans here read: under
# pytest-xdist they run in one process, one after another.
pytestmark = pytest.mark.xdist_group("checkout")

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top; README's architecture section shows the same order.
LAYERS = [
    {"common"},  # langzhong_si's helpers: identity, text, calendar, API error shape, ...
    # langzhong_si's database helpers: prepared statements, compiled reads, one-statement
    # saves, lean history versions, a transaction's writes batched into one statement.
    {"data"},
    {"audit"},  # the hash-chained log, its kinds, the state-machine helper, the findings queue
    # Agencies and their sites (the county hall, township stations): what scopes the rest.
    {"sites"},
    {"outbox", "staff", "catalog"},
    # Daily seeds, the one draw function, commitments, the auditor's bundles · the admin of
    # agencies and sites and the admin of accounts and profiles (scoped by staff.scope, so
    # above staff) · the security administrator's desk and its sign-in codes.
    {"draws", "sites_admin", "staff_admin", "security_desk"},
    {"risk"},  # policies, qualifications, pools, review tasks, recusal
    {"devices"},  # the hall's registered screens: one-time links, hashed credentials
    {"counters"},  # the hall's rules: windows, tickets, numbers, dispatch; the Case record
    # The hall front: the screens and HTTP endpoints of the hall floor (kiosk, call display,
    # the citizen's ticket, the clerk's workbench and counter keys, the window lead's queue),
    # thin over counters' services and selectors; the case file's screens build on them.
    {"front"},
    {"scans"},  # the case file's scans (vetted, stored, opened) and its ID number revealed
    # The case file (intake, scans, progress, the case state machine) · 好差评: ratings (the
    # pad, the ticket page) and follow-ups · appointments (booked times, check-in to a
    # ticket). None needs another.
    {"cases", "ratings", "appointments"},
    # The reviewers' and approvers' inbox, where the drawn person's decision moves the case ·
    # the counter's papers: printed (recorded) and signed on the pad. Neither needs the other.
    {"inbox", "papers"},
    {"inspection"},  # continuous audit, the e-archive, draw verification, audit screens
    {"evaluation"},  # live hall, reports, staff evaluation
    # Backup bundles and the restore drill (results read by operations) · upward reporting:
    # ratings and cases to the provincial platforms. Neither needs the other.
    {"backups", "reporting"},
    {"simulation", "operations"},  # the simulated hall; health, metrics, logs, retention
    {"push"},  # the polled screens' changes pushed (server-sent events, the ASGI process)
    {"wiring"},  # langzhong_si's settings, URLs, Celery app, error pages
]
WIRING = {"settings", "urls", "api_urls", "celery", "wsgi", "asgi", "views", "__init__"}
DATA = {"prepared", "compiled", "saves", "history", "batch"}
APPS = {name for layer in LAYERS for name in layer} - {"common", "data", "wiring"}
LEVEL = {name: level for level, layer in enumerate(LAYERS) for name in layer}


def _unit(module: str) -> str | None:
    """The layer unit a dotted module belongs to (None: not the project's)."""
    head, _, rest = module.partition(".")
    if head == "langzhong_si":
        module = rest.split(".")[0]
        if module in WIRING or not rest:
            return "wiring"
        return "data" if module in DATA else "common"
    return head if head in APPS else None


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in APPS | {"langzhong_si"}:  # "from risk import services"
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"
            else:
                yield node.lineno, node.module


def _wrong_imports() -> list[str]:
    wrong = []
    for app in [*APPS, "langzhong_si"]:
        for path in sorted((ROOT / app).rglob("*.py")):
            source = _unit(".".join(path.relative_to(ROOT).with_suffix("").parts))
            for lineno, module in _imports(path):
                target = _unit(module)
                if target is None or target == source:
                    continue
                if LEVEL[target] >= LEVEL[source]:
                    where = f"{path.relative_to(ROOT)}:{lineno}"
                    wrong.append(f"{where} {source} -> {target} ({module})")
    return wrong


def test_every_import_points_down_the_layer_order():
    assert _wrong_imports() == []


def test_the_layer_check_sees_an_import_inside_a_function():
    sample = ROOT / "audit" / "_layer_rule_sample.py"
    try:
        sample.write_text("def f():\n    from counters.models import Case\n")
        assert [line for line in _wrong_imports() if "_layer_rule_sample" in line] == [
            "audit/_layer_rule_sample.py:2 audit -> counters (counters.models)"
        ]
    finally:
        sample.unlink()


def test_every_app_is_in_the_layer_order():
    installed = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert installed == APPS


# An app past this many lines of code is split (issue 13: "no app over about 1,500").
APP_LINES_LIMIT = 1500


def _code_lines(path: Path) -> int:
    """Lines holding code: no blank line, comment or docstring."""
    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, kinds) and node.body:
            first = node.body[0]
            value = getattr(first, "value", None)
            if isinstance(first, ast.Expr) and isinstance(getattr(value, "value", None), str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT}
    skip |= {tokenize.DEDENT, tokenize.ENDMARKER}
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def test_no_app_is_over_1500_lines_of_code():
    """Per unit of the layer order: each app, and langzhong_si's three (its helpers and
    its database helpers at the bottom, its wiring at the top)."""
    sizes = defaultdict(int)
    for app in [*APPS, "langzhong_si"]:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.relative_to(ROOT).parts:
                unit = _unit(".".join(path.relative_to(ROOT).with_suffix("").parts))
                sizes[unit] += _code_lines(path)
    over = {app: lines for app, lines in sizes.items() if lines > APP_LINES_LIMIT}
    assert over == {}, f"apps over {APP_LINES_LIMIT} lines of code (split them): {over}"

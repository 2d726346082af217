"""Imports point one way, down the layer order below, everywhere (inside functions and
migrations too): a lower layer never imports a higher one, and apps of one layer never
import each other. Higher work is started through task-name constants or signals."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top; README's architecture section shows the same order.
LAYERS = [
    {"common"},  # langzhong_si's helpers: identity, text, calendar, API error shape, ...
    {"audit"},  # the hash-chained log, its kinds, the state-machine helper, the findings queue
    {"outbox", "staff", "catalog"},
    {"draws"},  # daily seeds, the one draw function, commitments, the auditor's bundles
    {"risk"},  # policies, qualifications, pools, review tasks, recusal
    {"devices"},  # the hall's registered screens: one-time links, hashed credentials
    {"counters"},  # the hall: windows, tickets, dispatch, kiosk, call display; the Case record
    # The case file (intake, scans, progress), the chain advance and the inbox · 好差评:
    # ratings (the pad, the ticket page) and follow-ups · appointments (booked times,
    # check-in to a ticket). None needs another.
    {"cases", "ratings", "appointments"},
    {"inspection"},  # continuous audit, the e-archive, draw verification, audit screens
    {"evaluation"},  # live hall, reports, staff evaluation
    {"reporting"},  # upward reporting: ratings and cases to the provincial platforms
    {"simulation", "operations"},  # the simulated hall; health, metrics, logs, backups, drills
    {"wiring"},  # langzhong_si's settings, URLs, Celery app, error pages
]
WIRING = {"settings", "urls", "api_urls", "celery", "wsgi", "asgi", "views", "__init__"}
APPS = {name for layer in LAYERS for name in layer} - {"common", "wiring"}
LEVEL = {name: level for level, layer in enumerate(LAYERS) for name in layer}


def _unit(module: str) -> str | None:
    """The layer unit a dotted module belongs to (None: not the project's)."""
    head, _, rest = module.partition(".")
    if head == "langzhong_si":
        return "wiring" if rest.split(".")[0] in WIRING or not rest else "common"
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

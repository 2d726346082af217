"""The one registry of audit event kinds: each app declares the kinds it records, with a
translated label, in its own `events.py` (registered when the app is ready); recording
an undeclared kind is refused, and the audit screens show the labels."""

from django.utils.functional import Promise

_KINDS: dict[str, Promise | str] = {}


class UndeclaredEventKind(ValueError):
    """A programming error: every kind is declared in its app's events.py."""


def event_kinds_declare(kinds: dict[str, Promise | str]) -> None:
    for kind, label in kinds.items():
        if _KINDS.get(kind, label) != label:
            raise ValueError(f"audit event kind {kind!r} declared twice with different labels")
        _KINDS[kind] = label


def event_kind_check(kind: str) -> None:
    if kind not in _KINDS:
        raise UndeclaredEventKind(f"undeclared audit event kind {kind!r} (declare it in events.py)")


def event_kind_label(kind: str) -> str:
    return str(_KINDS.get(kind, kind))


def event_kinds() -> dict[str, Promise | str]:
    return dict(_KINDS)

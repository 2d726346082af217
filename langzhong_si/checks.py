"""A named check's answer, shared by /readyz (operations.health) and the restore drill
(backups): ok or not, with a short reason that names a component and a number, never a
host name, a password or a person."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

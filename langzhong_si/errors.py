"""Service refusals that carry their HTTP meaning with them (common layer)."""

from django.core.exceptions import PermissionDenied, ValidationError


class StateConflict(ValidationError):
    """The record's current state does not allow this now, as opposed to bad input: the
    API answers 409, the screens show the message. The declared transition tables raise
    subclasses of it."""


class RefusedAsAbsent(PermissionDenied):
    """Refused because the record is another agency's: to this agency it does not exist,
    so the API answers 404 as for a record that does not (the screens say so too)."""

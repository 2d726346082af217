"""Service refusals that carry their HTTP meaning with them (common layer)."""

from django.core.exceptions import ValidationError


class StateConflict(ValidationError):
    """The record's current state does not allow this now, as opposed to bad input: the
    API answers 409, the screens show the message. The declared transition tables raise
    subclasses of it."""

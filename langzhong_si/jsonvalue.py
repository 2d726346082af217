"""A value as it comes back from JSON: what a record's JSON column stores and gives back.

An audit event's data and a finding's evidence are kept as JSON gives them back (a
tuple as a list, a date as its text, a lazy text as its text), so that the record in
memory is the one read from the database, and its hash the same. Most values are made of
JSON's own types already (dicts with text keys, lists, text, numbers, booleans, None):
those are copied as they are, without writing and reading the text (about three times
the work, on every event of a busy transaction); anything else takes the round trip
through Django's encoder.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

# Types a round trip through JSON gives back unchanged (their exact types: a subclass of
# text or integer, an enumeration's member say, comes back as its base type's value).
_SAME = frozenset({str, int, float, bool, type(None)})


class _NotPlain(Exception):
    pass


def json_roundtrip(value):
    """`json.loads(json.dumps(value, cls=DjangoJSONEncoder))`, a copy sharing nothing
    with `value`."""
    try:
        return _copied(value)
    except (_NotPlain, RecursionError):  # (a value holding itself: JSON's own refusal)
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _copied(value):
    kind = type(value)
    if kind in _SAME:
        return value
    if isinstance(value, str):
        # A text's subclass (a choice's member): JSON writes its text, not its str().
        return str.__str__(value)
    if isinstance(value, int):  # an integer's (bool has none): written as the number
        return int.__int__(value)
    if kind is dict:
        copy = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotPlain  # JSON writes it as a text: the round trip does
            copy[str.__str__(key)] = _copied(item)
        return copy
    if kind is list:
        return [_copied(item) for item in value]
    raise _NotPlain

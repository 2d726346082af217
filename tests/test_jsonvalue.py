"""json_roundtrip gives what a round trip through JSON (Django's encoder) gives."""

import datetime
import decimal
import json
import uuid

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy

from langzhong_si.jsonvalue import json_roundtrip


class _Kind(models.TextChoices):
    A = "a", "A"


class _Level(models.IntegerChoices):
    ONE = 1, "one"


class _Odd(str):
    """A text whose str() is another text: JSON writes its own."""

    def __str__(self):
        return "other"


class _OddNumber(int):
    def __int__(self):
        return 99


def _through_json(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _typed(value):
    """The value with every part's exact type beside it (1 == 1.0 == True otherwise)."""
    if isinstance(value, dict):
        return ("dict", [(type(key), key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(item) for item in value])
    if isinstance(value, float):
        return (float, repr(value))  # nan equal to nan, -0.0 apart from 0.0
    return (type(value), value)


VALUES = [
    {},
    {"window": 3, "clerk": 17, "draw": 12},
    {"from": "serving", "to": "done", "reason": "王大山 — 申请", "ok": True, "none": None},
    {"nested": {"list": [1, 2.5, "x", [False, None]], "deep": {"a": {"b": []}}}},
    {"float": -0.0, "nan": float("nan"), "inf": float("inf"), "big": 2**80},
    {"tuple": (1, 2), "set_free": [(3, "x")]},
    {1: "int key", "1": "text key"},
    {True: "bool key", None: "none key", 2.5: "float key"},
    {_Kind.A: "a member as key"},
    {"member": _Kind.A},
    {"level": _Level.ONE},
    {"lazy": gettext_lazy("Reason")},
    {"odd": _Odd("x"), _Odd("key"): [_OddNumber(3), _Kind.A]},
    {
        "day": datetime.date(2026, 12, 5),
        "at": datetime.datetime(2026, 12, 5, 8, tzinfo=datetime.UTC),
    },
    {"amount": decimal.Decimal("12.50"), "id": uuid.UUID(int=7)},
    ["a list", {"of": "things"}],
    "text",
    12,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_value_is_what_a_round_trip_through_json_gives(value):
    assert _typed(json_roundtrip(value)) == _typed(_through_json(value))


def test_the_copy_shares_nothing_with_the_value():
    value = {"list": [1, {"inner": "x"}], "map": {"k": "v"}}
    copy = json_roundtrip(value)
    copy["list"][1]["inner"] = "changed"
    copy["map"]["k"] = "changed"
    copy["list"].append(2)
    assert value == {"list": [1, {"inner": "x"}], "map": {"k": "v"}}


def test_a_value_json_cannot_write_is_refused_as_the_round_trip_refuses_it():
    with pytest.raises(TypeError):
        json_roundtrip({"object": object()})


def test_a_value_holding_itself_is_refused_as_the_round_trip_refuses_it():
    value = {"list": []}
    value["list"].append(value)
    with pytest.raises(ValueError, match="Circular reference"):
        json_roundtrip(value)

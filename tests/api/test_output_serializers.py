"""langzhong_si.api.OutputSerializer: an answer's fields built and bound once per class
and thread, the answer exactly DRF's own (a serializer given a context is read by DRF's
own path: the reference here)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from langzhong_si.api import OutputSerializer


class _Row(OutputSerializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    city = serializers.CharField(source="place.city", allow_null=True, default=None)
    tags = serializers.ListField(child=serializers.CharField())
    shout = serializers.SerializerMethodField()

    def get_shout(self, row) -> str:
        return row.name.upper()


class _Page(OutputSerializer):
    top = _Row()
    rows = _Row(many=True)


def _row(n: int):
    place = SimpleNamespace(city=f"city-{n}") if n % 2 else None
    return SimpleNamespace(pk=n, name=f"row-{n}", place=place, tags=[str(n)] * (n % 3))


def _drf_own(serializer_class, instance):
    return serializer_class(instance, context={"reference": True}).data


@pytest.mark.parametrize("n", [1, 2, 3])
def test_an_answer_is_drfs_own_answer(n):
    assert _Row(_row(n)).data == _drf_own(_Row, _row(n))


def test_a_nested_answer_is_drfs_own_answer():
    page = SimpleNamespace(top=_row(1), rows=[_row(2), _row(3)])
    assert _Page(page).data == _drf_own(_Page, page)


def test_each_answer_is_its_own_instances_after_another():
    assert [_Row(_row(n)).data["name"] for n in (1, 2, 1)] == ["row-1", "row-2", "row-1"]


def test_the_fields_are_built_once_per_class_and_thread(monkeypatch):
    built = []
    original = _Row.get_fields
    monkeypatch.setattr(_Row, "get_fields", lambda self: built.append(1) or original(self))

    def answers():
        return [_Row(_row(n)).data for n in range(5)]

    for _ in range(2):
        thread = threading.Thread(target=answers)
        thread.start()
        thread.join()
    assert len(built) == 2  # one template in each of two threads


def test_threads_answering_at_once_each_give_their_own_instance():
    def answer(n):
        return _Row(_row(n)).data["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(answer, range(400))) == list(range(400))


@pytest.mark.django_db
def test_the_halls_answers_are_drfs_own(hall):
    from cases.api import CaseOutput
    from counters import services as counter_services
    from front.api import IssuedTicketOutput
    from inbox.api import TaskDetailOutput
    from risk.models import ReviewTask
    from tests.factories import make_id_number

    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    ticket = counter_services.ticket_issue(item=hall.item)
    ticket.ahead = 0
    from cases.services import case_accept

    case = case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip
    task = ReviewTask.objects.select_related("case__item").get(case=case)
    for serializer_class, instance in (
        (IssuedTicketOutput, ticket),
        (CaseOutput, case),
        (TaskDetailOutput, task),
    ):
        assert serializer_class(instance).data == _drf_own(serializer_class, instance)


def _answers():
    """Every answer serializer of the project (the API's modules loaded with the URLs)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    found, waiting = [], [OutputSerializer]
    while waiting:
        for subclass in waiting.pop().__subclasses__():
            if subclass.__module__.split(".")[0] != "tests":
                found.append(subclass)
            waiting.append(subclass)
    return found


def test_the_project_has_answer_serializers():
    assert {cls.__name__ for cls in _answers()} >= {"IssuedTicketOutput", "TaskSummaryOutput"}


def test_no_answer_serializer_changes_its_fields_per_instance():
    own = {"__init__", "get_fields", "to_representation", "data"}
    changing = {cls.__name__: own & set(vars(cls)) for cls in _answers()}
    assert {name: found for name, found in changing.items() if found} == {}


def test_an_answer_serializers_methods_read_only_their_argument():
    """Its get_* methods run on a template shared by the thread's answers: one that read
    `self` (its instance, its context) or kept something there would mix answers."""
    import ast
    import inspect
    import textwrap

    reading_self = []
    for cls in _answers():
        for name, method in vars(cls).items():
            if not (name.startswith("get_") and callable(method)):
                continue
            tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
            if any(isinstance(node, ast.Name) and node.id == "self" for node in ast.walk(tree)):
                reading_self.append(f"{cls.__name__}.{name}")
    assert reading_self == []


def test_the_api_schema_describes_no_answer_with_notes_not_its_own():
    """The schema describes an answer by its class's docstring, else its nearest base's:
    an answer without one of its own has no description (none of the base's notes)."""
    from drf_spectacular.generators import SchemaGenerator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    undocumented = [
        cls.__name__
        for cls in _answers()
        if not vars(cls).get("__doc__") and cls.__name__ in schemas
    ]
    assert "IssuedTicketOutput" in undocumented
    assert {name: schemas[name].get("description") for name in undocumented} == {
        name: None for name in undocumented
    }

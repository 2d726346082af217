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

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.bulk import bulk_writes_allowed
from cases import services as case_services
from counters import services
from counters.models import Queue, Ticket, Window
from counters.selectors import dispatch_series_problems
from draws.models import Draw
from risk.models import ReviewTask
from staff.roles import Role
from tests.counters.concurrency import held_open
from tests.factories import ItemFactory, WindowFactory, make_staff

pytestmark = pytest.mark.django_db


def _clerk_at(number, state="ready"):
    clerk = make_staff(Role.CLERK)
    window = WindowFactory(number=number)
    services.window_sign_on(clerk=clerk, window_id=window.pk)
    if state == "ready":
        services.window_declare_ready(clerk=clerk)
    return clerk


def test_a_ticket_goes_to_one_of_the_ready_clerks_by_a_recorded_draw():
    ready = [_clerk_at(1), _clerk_at(2)]
    paused = _clerk_at(3, state="paused")
    ticket = services.ticket_issue(item=ItemFactory())
    ticket.refresh_from_db()
    draw = Draw.objects.get(subject=f"ticket:{ticket.pk}")
    assert ticket.clerk in ready
    assert sorted(draw.pool) == sorted(c.pk for c in ready)
    assert paused.pk not in draw.pool


def test_a_ticket_waits_until_a_clerk_declares_ready():
    clerk = _clerk_at(1, state="paused")
    ticket = services.ticket_issue(item=ItemFactory())
    assert ticket.status == Ticket.Status.WAITING
    services.window_declare_ready(clerk=clerk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.clerk) == (Ticket.Status.SERVING, clerk)


def test_back_office_items_queue_apart_from_the_counter():
    ticket = services.ticket_issue(item=ItemFactory(at_counter=False))
    assert ticket.queue == Queue.BACK_OFFICE
    assert ticket.display_number == "B001"


def test_a_clerk_cannot_declare_ready_while_serving():
    clerk = _clerk_at(1)
    services.ticket_issue(item=ItemFactory())
    with pytest.raises(ValidationError):
        services.window_declare_ready(clerk=clerk)


def test_recalls_stop_at_three_then_a_no_show_is_recorded(time_passes):
    clerk = _clerk_at(1)
    ticket = services.ticket_issue(item=ItemFactory())
    for _ in range(3):
        services.ticket_recall(clerk=clerk)
    with pytest.raises(ValidationError):
        services.ticket_recall(clerk=clerk)
    time_passes(minutes=1)
    services.ticket_no_show(clerk=clerk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.recall_count) == (Ticket.Status.NO_SHOW, 3)
    assert Window.objects.get(clerk=clerk).state == Window.State.READY


def test_a_consultation_ticket_needs_no_item():
    ticket = services.ticket_issue(item=None, is_consultation=True)
    assert ticket.queue == Queue.HALL


def test_the_kiosk_refuses_a_bad_id_number_with_a_message(client, register_device):
    register_device(client, "kiosk")
    item = ItemFactory()
    response = client.post("/kiosk/", {"item": item.pk, "id_number": "110105194912310021"})
    assert response.status_code == 200
    assert "check digit" in response.content.decode() or "校验" in response.content.decode()
    assert not Ticket.objects.exists()


def _run_together(work) -> list[Exception]:
    """Run each callable in a thread of its own, all released at once; the errors."""
    barrier = threading.Barrier(len(work))
    errors = []

    def run(one):
        try:
            barrier.wait()
            one()
        except Exception as error:  # noqa: BLE001 - collected and returned
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(one,)) for one in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_ready_calls_over_twenty_tickets_pair_each_ticket_once():
    clerks = [_clerk_at(n, state="paused") for n in range(1, 51)]
    item = ItemFactory()
    tickets = [services.ticket_issue(item=item) for _ in range(20)]
    errors = _run_together(
        [lambda clerk=clerk: services.window_declare_ready(clerk=clerk) for clerk in clerks]
    )

    assert errors == []
    served = Ticket.objects.filter(pk__in=[t.pk for t in tickets], status=Ticket.Status.SERVING)
    assert served.count() == 20
    per_clerk = Counter(served.values_list("clerk_id", flat=True))
    assert max(per_clerk.values()) == 1
    assert Window.objects.filter(state=Window.State.SERVING).count() == 20
    _assert_each_ticket_served_by_its_last_draw_every_attempt_recorded(tickets)


def _assert_each_ticket_served_by_its_last_draw_every_attempt_recorded(tickets):
    """A ticket's last draw chose its clerk; within a dispatch round each earlier draw's
    choice (a window taken meanwhile) is named as left out of the next draw, which drew
    from the rest (counters.selectors.dispatch_series_problems)."""
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        draws = list(Draw.objects.filter(subject=f"ticket:{ticket.pk}").order_by("number"))
        assert (
            dispatch_series_problems(draws, clerk_id=ticket.clerk_id, requeued=ticket.requeue_count)
            == []
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_round_whose_every_window_was_taken_leaves_the_ticket_waiting_for_a_new_round():
    clerk = _clerk_at(1)
    window = Window.objects.get(clerk=clerk)

    def lock_the_window():  # as a concurrent dispatch taking it would
        return Window.objects.select_for_update().get(pk=window.pk).pk

    with held_open(lock_the_window):
        ticket = services.ticket_issue(item=ItemFactory())
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING
    assert services.hall_dispatch_sweep() == 1
    ticket.refresh_from_db()
    draws = list(Draw.objects.filter(subject=f"ticket:{ticket.pk}").order_by("number"))
    assert [(d.chosen_id, d.excluded) for d in draws] == [(clerk.pk, []), (clerk.pk, [])]
    assert (ticket.status, ticket.clerk_id) == (Ticket.Status.SERVING, clerk.pk)
    assert dispatch_series_problems(draws, clerk_id=clerk.pk) == []


def _draw(number, pool, chosen, excluded=()):
    return Draw(number=number, pool=pool, chosen_id=chosen, excluded=list(excluded))


def _left_out(user):
    return {"user": user, "reason": services.DISPATCH_UNAVAILABLE}


def test_a_redraw_within_a_round_names_the_clerk_left_out_and_draws_from_the_rest():
    series = [_draw(1, [7, 8, 9], 8), _draw(2, [7, 9], 9, [_left_out(8)])]
    assert dispatch_series_problems(series, clerk_id=9) == []


def test_a_redraw_that_keeps_the_taken_clerk_in_its_pool_is_a_problem():
    series = [_draw(1, [7, 8, 9], 8), _draw(2, [7, 8, 9], 9, [_left_out(8)])]
    assert dispatch_series_problems(series, clerk_id=9) == ["draw 2 does not carry on from draw 1"]


def test_a_redraw_naming_someone_else_as_left_out_is_a_problem():
    series = [_draw(1, [7, 8, 9], 8), _draw(2, [7, 9], 9, [_left_out(7)])]
    assert dispatch_series_problems(series, clerk_id=9) == ["draw 2 does not carry on from draw 1"]


def test_a_ticket_served_by_an_earlier_draws_choice_is_a_problem():
    series = [_draw(1, [7, 8], 8), _draw(2, [7], 7, [_left_out(8)])]
    assert dispatch_series_problems(series, clerk_id=8) == [
        "served by a clerk its last draw did not choose"
    ]


def test_a_new_round_before_the_last_one_ran_out_of_windows_is_a_problem():
    series = [_draw(1, [7, 8, 9], 8), _draw(2, [7, 8, 9], 9)]
    assert dispatch_series_problems(series, clerk_id=9) == [
        "draw 2 opens a round before draw 1's ended"
    ]


def test_a_requeued_ticket_opens_one_new_round_after_one_that_landed():
    series = [_draw(1, [7, 8, 9], 8), _draw(2, [7, 8, 9], 9)]
    assert dispatch_series_problems(series, clerk_id=9, requeued=1) == []


def test_a_gap_in_a_tickets_draw_numbers_is_a_problem():
    series = [_draw(1, [8], 8), _draw(3, [7, 8], 7)]
    assert dispatch_series_problems(series, clerk_id=7) == [
        "draw numbers are not 1, 2, 3, … without a gap"
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatches_never_take_one_window_nor_deadlock():
    clerks = [_clerk_at(n) for n in range(1, 9)]
    item = ItemFactory()
    errors = _run_together([lambda: services.ticket_issue(item=item) for _ in range(12)])

    assert errors == []
    served = Ticket.objects.filter(status=Ticket.Status.SERVING)
    assert served.count() == len(clerks)
    assert sorted(served.values_list("clerk_id", flat=True)) == sorted(c.pk for c in clerks)
    assert Ticket.objects.filter(status=Ticket.Status.WAITING).count() == 12 - len(clerks)
    windows = Window.objects.filter(state=Window.State.SERVING)
    assert sorted(windows.values_list("current_ticket_id", flat=True)) == sorted(
        served.values_list("pk", flat=True)
    )
    _assert_each_ticket_served_by_its_last_draw_every_attempt_recorded(served)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dispatch_holds_only_the_window_it_chose():
    """A ticket's dispatch, not yet committed, leaves every other ready window free:
    their clerks pause (or finish, or declare ready) at once."""
    ready = {clerk.pk: clerk for clerk in (_clerk_at(1), _clerk_at(2), _clerk_at(3))}
    item = ItemFactory()

    def dispatch():
        ticket = services.ticket_issue(item=item, durable=False)
        return Ticket.objects.get(pk=ticket.pk).clerk_id

    with held_open(dispatch) as chosen:
        others = [clerk for pk, clerk in ready.items() if pk != chosen]
        services.window_pause(clerk=others[0], reason="午休")
        services.window_declare_ready(clerk=others[0])
        services.window_pause(clerk=others[1], reason="午休")
    assert Window.objects.get(clerk=others[0]).state == Window.State.READY
    assert Window.objects.get(clerk=ready[chosen]).state == Window.State.SERVING


def test_the_sweep_pairs_a_ticket_left_waiting_beside_a_ready_window():
    clerk = _clerk_at(1, state="paused")
    ticket = services.ticket_issue(item=ItemFactory())
    # As if the ready window's dispatch had skipped this ticket's locked row.
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Window.objects.filter(clerk=clerk).update(state=Window.State.READY)
    assert services.hall_dispatch_sweep() == 1
    ticket.refresh_from_db()
    assert (ticket.status, ticket.clerk) == (Ticket.Status.SERVING, clerk)
    assert services.hall_dispatch_sweep() == 0


def test_kiosk_and_display_work_only_on_registered_devices(client):
    from devices.models import HallDevice

    assert client.get("/kiosk/").status_code == 403
    assert client.get("/display/").status_code == 403
    from devices.services import hall_device_link_issue

    display = HallDevice.objects.create(kind="display", name="叫号屏")
    link = hall_device_link_issue(device_id=display.pk, actor=None, reason="new screen")
    response = client.post(f"/devices/{link}/register/")
    assert response.status_code == 302 and response.cookies["hall_device"]["httponly"]
    display.refresh_from_db()
    assert client.get("/display/").status_code == 200
    assert client.get("/kiosk/").status_code == 403, "a display is not a kiosk"
    display.enabled = False
    display.save()
    assert client.get("/display/").status_code == 403
    assert client.get("/devices/not-a-token/register/").status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dispatch_draws_and_review_draws_running_together_never_deadlock(hall):
    """Found by bench/hall_load.py: issuing a ticket appends to the audit chain and then
    draws a clerk (the day's seed row), while a review draw locks the seed row and then
    appends. Both now take the chain's lock first."""
    from unittest import mock

    from risk.services import review_task_draw

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    tasks = []
    from langzhong_si.saves import record_insert

    def left_awaiting(task):
        if task.pk is None:  # drawn before it is written where the draw takes its key
            record_insert(task)
        return task

    # The intakes leave their tasks awaiting the draw, run below.
    with mock.patch("risk.services._review_task_draw_locked", side_effect=left_awaiting):
        for _ in range(10):
            services.window_declare_ready(clerk=hall.li_na)
            services.ticket_issue(item=hall.item)
            case = case_services.case_accept(
                clerk=hall.li_na,
                item_id=hall.item.pk,
                applicant_name="王",
                id_number="11010519491231002X",
                received_material_ids={hall.material.pk},
            )
            services.ticket_finish(clerk=hall.li_na)
            tasks.append(case.tasks.get().pk)
    services.window_pause(clerk=hall.li_na, reason="x")
    clerks = [_clerk_at(n) for n in range(2, 12)]
    work = [lambda: services.ticket_issue(item=hall.item) for _ in clerks] + [
        (lambda task_id=task_id: review_task_draw(task_id=task_id)) for task_id in tasks
    ]
    assert _run_together(work) == []
    assert Ticket.objects.filter(status=Ticket.Status.SERVING).count() == len(clerks)
    assert ReviewTask.objects.filter(pk__in=tasks, status=ReviewTask.Status.OPEN).count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_clerks_finishing_while_tickets_are_issued_never_deadlock_nor_share_a_window():
    clerks = [_clerk_at(n) for n in range(1, 7)]
    item = ItemFactory()
    first = [services.ticket_issue(item=item) for _ in clerks]  # one at each window
    for _ in clerks:
        services.ticket_issue(item=item)  # waiting: every window is serving
    work = [lambda clerk=clerk: services.ticket_finish(clerk=clerk) for clerk in clerks] + [
        lambda: services.ticket_issue(item=item) for _ in clerks
    ]

    assert _run_together(work) == []
    assert not Ticket.objects.filter(pk__in=[t.pk for t in first]).exclude(status="done").exists()
    # A finish whose dispatch met the head ticket locked by a concurrent one (SKIP LOCKED)
    # leaves its window ready beside a waiting ticket until the sweep (beat, every few
    # seconds) pairs them: the guarantee is the state after it.
    services.hall_dispatch_sweep()
    served = Ticket.objects.filter(status=Ticket.Status.SERVING)
    assert sorted(served.values_list("clerk_id", flat=True)) == sorted(c.pk for c in clerks)
    assert Ticket.objects.filter(status=Ticket.Status.WAITING).count() == len(clerks)
    assert Window.objects.filter(state=Window.State.SERVING).count() == len(clerks)
    _assert_each_ticket_served_by_its_last_draw_every_attempt_recorded(served)
    # Not asserted: order of issue. A dispatch that finds no window free may hold the
    # head ticket meanwhile, and a concurrent one then takes the next (SKIP LOCKED).

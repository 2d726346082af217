"""Priority service, re-queue, fishing, 容缺受理, working days, and the first random."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import get_resolver
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from cases import services as case_services
from counters import services
from counters.models import Case, Ticket, Window
from draws.choice import draw_choice_index, draw_message
from langzhong_si.calendar import working_days_after
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    MaterialFactory,
    make_id_number,
    make_staff,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_at_window(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    return hall.li_na


def _serve_and_finish(clerk, item):
    services.window_declare_ready(clerk=clerk)
    ticket = services.ticket_issue(item=item)
    services.ticket_finish(clerk=clerk)
    ticket.refresh_from_db()
    return ticket


def test_a_citizen_aged_70_is_served_before_earlier_tickets(clerk_at_window, hall):
    first = services.ticket_issue(item=hall.item)
    elder = services.ticket_issue(
        item=hall.item, id_number=make_id_number(datetime.date(1950, 1, 2))
    )
    assert (elder.is_priority, elder.priority_reason) == (True, "age_70")
    services.window_declare_ready(clerk=clerk_at_window)
    elder.refresh_from_db()
    first.refresh_from_db()
    assert elder.status == Ticket.Status.SERVING and first.status == Ticket.Status.WAITING


def test_a_disabled_citizens_priority_waits_for_a_window_lead(hall):
    ticket = services.ticket_issue(item=hall.item, priority_request="disabled")
    assert (ticket.is_priority, ticket.priority_reason) == (False, "disabled")
    with pytest.raises(PermissionDenied):
        services.ticket_priority_confirm(ticket_id=ticket.pk, lead=hall.li_na)
    lead = make_staff(Role.WINDOW_LEAD)
    assert services.ticket_priority_confirm(ticket_id=ticket.pk, lead=lead).is_priority


def test_a_window_lead_requeues_a_no_show_once_with_a_reason(clerk_at_window, hall, time_passes):
    lead = make_staff(Role.WINDOW_LEAD)
    services.window_declare_ready(clerk=clerk_at_window)
    ticket = services.ticket_issue(item=hall.item)
    for _call in range(2):  # called again before a no-show
        services.ticket_recall(clerk=clerk_at_window)
    time_passes(minutes=1)
    services.ticket_no_show(clerk=clerk_at_window, pause_reason="整理材料")
    with pytest.raises(ValidationError):
        services.ticket_requeue(ticket_id=ticket.pk, lead=lead, reason=" ")
    services.ticket_requeue(ticket_id=ticket.pk, lead=lead, reason="群众在卫生间，未听到叫号")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.requeue_count) == (Ticket.Status.WAITING, 1)
    services.window_declare_ready(clerk=clerk_at_window)
    for _call in range(2):  # called again before a no-show
        services.ticket_recall(clerk=clerk_at_window)
    time_passes(minutes=1)
    services.ticket_no_show(clerk=clerk_at_window)
    with pytest.raises(ValidationError):
        services.ticket_requeue(ticket_id=ticket.pk, lead=lead, reason="再次")


def test_cancelling_and_retaking_is_counted_and_flagged(clerk_at_window, hall):
    number = make_id_number()
    for _ in range(2):
        ticket = services.ticket_issue(item=hall.item, id_number=number)
        services.ticket_cancel(public_token=ticket.public_token)
    third = services.ticket_issue(item=hall.item, id_number=number)
    assert (third.earlier_cancellations, third.flagged_retake) == (2, True)
    assert AuditEvent.objects.filter(event_type="ticket.retake_flagged").count() == 1


def test_a_citizen_called_to_a_clerk_can_cancel_and_the_window_is_freed(clerk_at_window, hall):
    services.window_declare_ready(clerk=clerk_at_window)
    ticket = services.ticket_issue(item=hall.item)
    services.ticket_cancel(public_token=ticket.public_token)
    assert Window.objects.get(pk=hall.window.pk).state == Window.State.READY


def _accept(clerk, item, received, *, defer):
    services.window_declare_ready(clerk=clerk)
    services.ticket_issue(item=item)
    case = case_services.case_accept(
        clerk=clerk, item_id=item.pk, applicant_name="王", id_number=make_id_number(),
        received_material_ids=received, defer_missing=defer,
    )  # fmt: skip
    services.ticket_finish(clerk=clerk)
    return case


def test_only_non_key_materials_may_be_deferred(
    clerk_at_window, hall, django_capture_on_commit_callbacks
):
    optional_key = MaterialFactory(item=hall.item, name="劳动合同", is_key=False)
    with django_capture_on_commit_callbacks(execute=False):
        deferred = _accept(clerk_at_window, hall.item, {hall.material.pk}, defer=True)
        refused = _accept(clerk_at_window, hall.item, {optional_key.pk}, defer=True)
    assert deferred.status == Case.Status.AWAITING_MATERIALS
    assert deferred.deferred_due <= deferred.due_date
    assert refused.status == Case.Status.NOTIFIED, "a key material cannot be deferred"
    assert not deferred.tasks.exists(), "no review before the promised materials are in"

    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_materials_supplied(
            clerk=clerk_at_window, case_id=deferred.pk, material_ids={optional_key.pk}
        )
    deferred.refresh_from_db()
    assert deferred.status == Case.Status.IN_REVIEW
    assert (
        deferred.review_chain == ["review", "approval"]
        and deferred.tasks.get().assignee == hall.zhou
    )


def test_a_deferral_past_its_date_ends_the_case_with_an_audit_event(clerk_at_window, hall):
    MaterialFactory(item=hall.item, name="劳动合同", is_key=False)
    case = _accept(clerk_at_window, hall.item, {hall.material.pk}, defer=True)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Case.objects.filter(pk=case.pk).update(
            deferred_due=timezone.localdate() - datetime.timedelta(days=1)
        )
    assert case_services.cases_deferral_expire() == 1
    case.refresh_from_db()
    assert case.status == Case.Status.ENDED_UNSUPPLIED
    assert AuditEvent.objects.filter(
        event_type="case.status_changed", data__to="ended_unsupplied"
    ).exists()


def test_deadlines_skip_the_national_day_holiday_and_count_an_adjusted_saturday():
    # 2026: 1–7 October are holidays; Saturday 10 October is an adjusted working day.
    assert working_days_after(datetime.date(2026, 9, 29), 3) == datetime.date(2026, 10, 9)
    assert working_days_after(datetime.date(2026, 9, 29), 4) == datetime.date(2026, 10, 10)
    assert working_days_after(datetime.date(2026, 9, 29), 5) == datetime.date(2026, 10, 12)


def test_the_clerk_draw_is_uniform_over_10000_calls_among_equally_ready_clerks():
    clerks = list(range(101, 107))
    counts = dict.fromkeys(clerks, 0)
    seed, day = "5e" * 32, datetime.date(2026, 11, 27)  # a fixed, injected seed
    for number in range(1, 10_001):
        message = draw_message(day=day, number=number, purpose="ticket_dispatch",
                               subject=f"ticket:{number}", pool=clerks)  # fmt: skip
        counts[clerks[draw_choice_index(seed_hex=seed, message=message, pool_size=6)]] += 1
    expected = 10_000 / 6
    chi_square = sum((seen - expected) ** 2 / expected for seen in counts.values())
    assert chi_square < 20.52, counts  # 5 degrees of freedom, p = 0.001


def test_no_endpoint_lets_a_clerk_take_a_chosen_ticket(client, clerk_at_window, hall):
    first = services.ticket_issue(item=hall.item)
    chosen = services.ticket_issue(item=hall.item)
    sign_in(client, clerk_at_window)
    routes = [_route(p) for p in _patterns(get_resolver())]
    for route in routes:
        if "<" in route or route.startswith(("admin", "api/schema", "api/docs", "i18n", "logout")):
            continue
        for params in ({"ticket": chosen.pk}, {"ticket_id": chosen.pk}, {"number": "A002"},
                       {"window": hall.window.pk, "ticket": chosen.pk}):  # fmt: skip
            client.post("/" + route, params)
            chosen.refresh_from_db()
            assert chosen.clerk_id != clerk_at_window.pk or first_was_served(first), route
    client.post("/counter/sign-on/", {"window": hall.window.pk})
    client.post("/counter/ready/")
    first.refresh_from_db()
    assert first.clerk_id == clerk_at_window.pk, "ready takes the head of the queue, not a choice"


def first_was_served(first):
    first.refresh_from_db()
    return first.status != Ticket.Status.WAITING


def _patterns(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _patterns(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def _route(pattern: str) -> str:
    return pattern.lstrip("^").rstrip("$")


def test_the_items_factory_works_for_back_office():
    assert ItemFactory(at_counter=False).at_counter is False


def test_one_id_number_holds_one_place_in_the_queue(hall):
    from langzhong_si.errors import StateConflict

    number = make_id_number()
    first = services.ticket_issue(item=hall.item, id_number=number)
    with pytest.raises(StateConflict) as refused:
        services.ticket_issue(item=hall.item, id_number=number)
    assert refused.value.code == "already_waiting"
    assert first.display_number in refused.value.messages[0]
    assert Ticket.objects.count() == 1
    services.ticket_cancel(public_token=first.public_token)
    services.ticket_issue(item=hall.item, id_number=number)  # after cancelling, one more
    assert Ticket.objects.filter(status=Ticket.Status.WAITING).count() == 1


def test_a_no_show_needs_the_citizen_called_again_first(hall, time_passes):
    from langzhong_si.errors import StateConflict

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    ticket = services.ticket_issue(item=hall.item)
    with pytest.raises(StateConflict) as refused:
        services.ticket_no_show(clerk=hall.li_na)
    assert refused.value.code == "recall_first"
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.SERVING
    services.ticket_recall(clerk=hall.li_na)
    services.ticket_recall(clerk=hall.li_na)
    time_passes(minutes=1)
    assert services.ticket_no_show(clerk=hall.li_na).status == Ticket.Status.NO_SHOW


def test_the_kiosk_says_so_when_an_id_number_already_holds_a_ticket(hall, client, register_device):
    register_device(client, kind="kiosk")
    number = make_id_number()
    services.ticket_issue(item=hall.item, id_number=number)
    response = client.post("/kiosk/", {"item": hall.item.pk, "id_number": number})
    assert response.status_code == 200
    page = response.content.decode()
    assert "该身份证号码已持有" in page and number not in page
    assert Ticket.objects.count() == 1

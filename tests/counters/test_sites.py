"""Tickets and the random clerk stay within a site; clerks sign on only where they work;
a case takes its ticket's site."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from counters import services
from counters.models import Queue, Ticket, Window
from counters.transitions import HallStateError, ticket_transition
from draws.models import Draw
from sites.defaults import home_site_id
from sites.models import Site
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    WindowFactory,
    make_agency,
    make_site,
    make_staff,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db


def _ready_clerk(site, number=1, queue=Queue.HALL):
    clerk = make_staff(Role.CLERK, sites=[site])
    window = WindowFactory(site=site, number=number, queue=queue)
    services.window_sign_on(clerk=clerk, window_id=window.pk)
    services.window_declare_ready(clerk=clerk)
    return clerk


@pytest.fixture
def station():
    return make_site(kind="station", name="老观镇社保所")


@pytest.fixture
def hall():
    return Site.objects.get(pk=home_site_id())


def test_a_kiosk_issues_tickets_of_its_own_site(station):
    kiosk, _credential = registered_device("kiosk", site=station)
    ticket = services.ticket_issue(item=ItemFactory(), kiosk=kiosk)
    assert (ticket.site_id, ticket.agency_id) == (station.pk, station.agency_id)


def test_a_ticket_without_kiosk_or_site_is_issued_at_the_home_hall(hall):
    assert services.ticket_issue(item=ItemFactory()).site_id == hall.pk


def test_a_kiosk_refuses_a_ticket_for_another_site(station, hall):
    kiosk, _credential = registered_device("kiosk", site=station)
    with pytest.raises(ValidationError) as refused:
        services.ticket_issue(item=ItemFactory(), kiosk=kiosk, site_id=hall.pk)
    assert refused.value.code == "other_site"
    assert not Ticket.objects.exists()


def test_an_inactive_site_issues_no_tickets(station):
    station.active = False
    station.save()
    with pytest.raises(ValidationError):
        services.ticket_issue(item=ItemFactory(), site_id=station.pk)
    assert not Ticket.objects.exists()


def test_ticket_numbers_count_per_site_so_two_sites_both_have_a001(station, hall):
    item = ItemFactory()
    at_hall = [services.ticket_issue(item=item, site_id=hall.pk) for _ in range(2)]
    at_station = services.ticket_issue(item=item, site_id=station.pk)
    assert [t.display_number for t in at_hall] == ["A001", "A002"]
    assert at_station.display_number == "A001"


def test_the_random_clerk_is_drawn_only_among_the_tickets_site_windows(station, hall):
    at_station = _ready_clerk(station, number=1)
    at_hall = _ready_clerk(hall, number=1)
    ticket = services.ticket_issue(item=ItemFactory(), site_id=station.pk)
    ticket.refresh_from_db()
    assert ticket.clerk == at_station
    assert Draw.objects.get(subject=f"ticket:{ticket.pk}").pool == [at_station.pk]
    assert Window.objects.get(clerk=at_hall).state == Window.State.READY


def test_a_ticket_waits_rather_than_go_to_another_sites_ready_window(station, hall):
    _ready_clerk(hall)
    ticket = services.ticket_issue(item=ItemFactory(), site_id=station.pk)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING


def test_a_ready_window_takes_only_its_own_sites_waiting_ticket(station, hall):
    elsewhere = services.ticket_issue(item=ItemFactory(), site_id=hall.pk)
    here = services.ticket_issue(item=ItemFactory(), site_id=station.pk)
    clerk = _ready_clerk(station)
    here.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (here.clerk, elsewhere.status) == (clerk, Ticket.Status.WAITING)


def test_the_sweep_pairs_each_sites_tickets_with_its_own_windows(station, hall):
    from audit.bulk import bulk_writes_allowed

    clerks = {}
    for site in (hall, station):
        clerks[site.pk] = make_staff(Role.CLERK, sites=[site])
        window = WindowFactory(site=site, number=1)
        services.window_sign_on(clerk=clerks[site.pk], window_id=window.pk)
    tickets = [services.ticket_issue(item=ItemFactory(), site_id=s.pk) for s in (hall, station)]
    with bulk_writes_allowed():  # as if both windows' dispatches had skipped a locked row
        Window.objects.update(state=Window.State.READY)
    assert services.hall_dispatch_sweep() == 2
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.clerk == clerks[ticket.site_id]


def test_a_ticket_cannot_be_called_to_another_sites_window(station, hall):
    ticket = services.ticket_issue(item=ItemFactory(), site_id=station.pk)
    ticket.window = WindowFactory(site=hall, number=9)
    with pytest.raises(HallStateError) as refused:
        ticket_transition(ticket=ticket, to=Ticket.Status.SERVING, actor=None)
    assert refused.value.code == "other_site"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING


def test_a_clerk_signs_on_only_at_a_site_they_work_at(station, hall):
    clerk = make_staff(Role.CLERK, sites=[hall])
    window = WindowFactory(site=station, number=1)
    with pytest.raises(ValidationError) as refused:
        services.window_sign_on(clerk=clerk, window_id=window.pk)
    assert refused.value.code == "other_site"
    assert station.name in refused.value.messages[0]  # the refusal names the site
    window.refresh_from_db()
    assert (window.clerk, window.state) == (None, Window.State.OFFLINE)


def test_a_clerk_of_two_sites_signs_on_at_either(station, hall):
    clerk = make_staff(Role.CLERK, sites=[hall, station])
    window = WindowFactory(site=station, number=1)
    assert services.window_sign_on(clerk=clerk, window_id=window.pk).clerk == clerk


def test_window_numbers_are_unique_per_site_only(station, hall):
    from django.db import IntegrityError, transaction

    WindowFactory(site=hall, number=1)
    WindowFactory(site=station, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WindowFactory(site=station, number=1)


def test_a_case_opened_from_a_ticket_takes_the_tickets_site(
    station, django_capture_on_commit_callbacks
):
    from cases import services as case_services
    from catalog.models import ServiceItem
    from tests.factories import MaterialFactory, make_id_number

    clerk = _ready_clerk(station)
    item = ItemFactory(risk_level=0, handling_type=ServiceItem.HandlingType.ON_THE_SPOT)
    material = MaterialFactory(item=item)
    services.ticket_issue(item=item, site_id=station.pk)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=clerk,
            item_id=item.pk,
            applicant_name="张三",
            id_number=make_id_number(),
            received_material_ids={material.pk},
        )
    assert (case.site_id, case.agency_id) == (station.pk, station.agency_id)


def test_another_agencys_site_gets_its_own_agency_on_tickets():
    other = make_site(agency=make_agency(code="511302", name="顺庆区社保局"), kind="hall")
    ticket = services.ticket_issue(item=ItemFactory(), site_id=other.pk)
    assert ticket.agency_id == other.agency_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_ready_calls_at_two_sites_serve_each_ticket_at_its_own_site():
    import threading

    from django.db import connection

    hall = Site.objects.get(pk=home_site_id())
    station = make_site(kind="station")
    clerks = []
    for site in (hall, station):
        for number in range(1, 9):
            clerk = make_staff(Role.CLERK, sites=[site])
            window = WindowFactory(site=site, number=number)
            services.window_sign_on(clerk=clerk, window_id=window.pk)
            clerks.append(clerk)
    item = ItemFactory()
    tickets = [services.ticket_issue(item=item, site_id=s.pk) for s in (hall, station) * 5]
    barrier = threading.Barrier(len(clerks))
    errors = []

    def declare(clerk):
        try:
            barrier.wait()
            services.window_declare_ready(clerk=clerk)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=declare, args=(clerk,)) for clerk in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    served = Ticket.objects.filter(pk__in=[t.pk for t in tickets]).select_related("window")
    assert {t.status for t in served} == {Ticket.Status.SERVING}
    assert all(t.window.site_id == t.site_id for t in served)
    assert len({t.clerk_id for t in served}) == len(tickets)


def test_a_windows_site_cannot_be_changed_in_the_admin(client, station):
    window = Window.objects.create(number=9, queue=Queue.HALL)
    admin_user = make_staff(Role.SYSTEM_ADMINISTRATOR)
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    admin_user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_window", "change_window"])
    )
    sign_in(client, admin_user)
    response = client.post(
        f"/admin/counters/window/{window.pk}/change/",
        {"site": station.pk, "number": 9, "zone": "", "queue": "A"},
    )
    assert response.status_code == 302  # saved: the other fields were taken
    window.refresh_from_db()
    assert window.site_id != station.pk

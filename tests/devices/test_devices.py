"""Hall devices: one-time registration links, a kiosk that shows only its own fresh slip,
and a window's rating pad that rates only the service just finished there."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.bulk import bulk_writes_allowed
from audit.models import AuditEvent
from counters import services
from counters.models import Ticket
from devices.decorators import DEVICE_COOKIE
from devices.models import HallDevice
from devices.selectors import hall_device_for_credential
from devices.services import hall_device_link_issue
from langzhong_si.credentials import credential_digest
from ratings import services as rating_services
from ratings.models import Rating
from staff.roles import Role
from tests.factories import WindowFactory, make_staff, registered_device, sign_in

pytestmark = pytest.mark.django_db


def _link(device) -> str:
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="new screen")
    return f"/devices/{secret}/register/"


# --- Registration links ----------------------------------------------------------------


def test_a_registration_link_yields_the_devices_credential_once():
    kiosk = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="取号机")
    link = _link(kiosk)
    first = Client()
    assert first.get(link).status_code == 200, "opening the link only asks to confirm"
    response = first.post(link)
    kiosk.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == "/kiosk/"
    credential = response.cookies[DEVICE_COOKIE].value
    assert kiosk.credential_digest == credential_digest(credential)
    assert kiosk.credential_prefix == credential[:8]
    assert first.get("/kiosk/").status_code == 200
    assert AuditEvent.objects.filter(event_type="device.registered").count() == 1


def test_a_reused_registration_link_is_refused_from_any_machine_with_a_clear_page():
    kiosk = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="取号机")
    link = _link(kiosk)
    screen = Client()
    screen.post(link)
    other = Client()
    assert other.get(link).status_code == 403
    refused = other.post(link)
    assert refused.status_code == 403 and 'data-testid="link-refused"' in refused.content.decode()
    assert DEVICE_COOKIE not in refused.cookies
    assert other.get("/kiosk/").status_code == 403
    assert screen.get("/kiosk/").status_code == 200, "the registered screen keeps working"
    assert AuditEvent.objects.filter(
        event_type="device.registration_refused", outcome="refused"
    ).exists()


def test_a_device_has_no_credential_until_its_link_is_used():
    kiosk = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="取号机")
    assert (kiosk.credential_digest, kiosk.credential_prefix) == ("", "")
    for presented in ("", " ", credential_digest("")):
        screen = Client()
        screen.cookies[DEVICE_COOKIE] = presented
        assert screen.get("/kiosk/").status_code == 403


def test_the_database_row_holds_no_device_credential():
    device, credential = registered_device(HallDevice.Kind.KIOSK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM counters_halldevice WHERE id = %s", [device.pk])
        row = cursor.fetchone()
        columns = [column[0] for column in cursor.description]
    assert "token" not in columns
    assert not [value for value in row if isinstance(value, str) and credential in value]
    assert credential_digest(credential) in row
    events = AuditEvent.objects.filter(object_id=str(device.pk), object_type="devices.halldevice")
    assert events.count() == 2 and all(credential not in str(event.data) for event in events)


def test_a_digest_copied_from_the_table_is_not_a_credential(hall):
    device, credential = registered_device(HallDevice.Kind.KIOSK)
    stolen = HallDevice.objects.values_list("credential_digest", flat=True).get(pk=device.pk)
    clone = Client()
    clone.cookies[DEVICE_COOKIE] = stolen
    assert clone.get("/kiosk/").status_code == 403
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {stolen}")
    refused = api.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json")
    assert refused.status_code in (401, 403) and not Ticket.objects.exists()
    api.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    assert api.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json").status_code == 201


def test_a_device_is_found_by_its_credential_in_one_query(hall, django_assert_num_queries):
    device, credential = registered_device(HallDevice.Kind.PAD, hall.window)
    with django_assert_num_queries(1):
        found = hall_device_for_credential(credential, HallDevice.Kind.PAD)
        assert (found, found.window) == (device, hall.window)
    assert hall_device_for_credential(credential, HallDevice.Kind.KIOSK) is None


def test_a_cloned_pad_digest_cannot_rate_a_chosen_clerk(served, pad):
    stolen = HallDevice.objects.values_list("credential_digest", flat=True).get(pk=pad.device.pk)
    clone = Client()
    clone.cookies[DEVICE_COOKIE] = stolen
    assert clone.post("/rating/", {"ticket": served[1].pk, "level": 5}).status_code == 403
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {stolen}")
    refused = api.post("/api/rating-pad/", {"ticket": served[1].pk, "level": 5}, format="json")
    assert refused.status_code in (401, 403)
    assert not Rating.objects.exists()


def test_a_new_link_replaces_the_unused_one_and_then_the_old_screen():
    kiosk = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="取号机")
    old_screen = Client()
    old_screen.post(_link(kiosk))
    stale = _link(kiosk)
    fresh = _link(kiosk)
    assert Client().post(stale).status_code == 403, "a newer link replaced it"
    new_screen = Client()
    new_screen.post(fresh)
    assert new_screen.get("/kiosk/").status_code == 200
    assert old_screen.get("/kiosk/").status_code == 403


def test_the_team_lead_issues_a_new_link_with_a_reason_and_it_is_audited(client, hall):
    lead = make_staff(Role.TEAM_LEAD)
    pad = HallDevice.objects.create(kind=HallDevice.Kind.PAD, name="评价器", window=hall.window)
    sign_in(client, lead)
    assert client.post("/lead/devices/", {"device": pad.pk, "reason": ""}).status_code == 400
    response = client.post("/lead/devices/", {"device": pad.pk, "reason": "平板更换"})
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="issued-link"' in page
    url = page.split('data-testid="issued-link"')[1].split("/devices/")[1].split("/")[0]
    event = AuditEvent.objects.get(event_type="device.link_issued")
    assert (event.actor, event.data["reason"]) == (lead, "平板更换")
    assert url not in str(event.data) and url not in HallDevice.objects.get(pk=pad.pk).link_digest
    tablet = Client()
    assert tablet.post(f"/devices/{url}/register/")["Location"] == "/rating/"


def test_a_clerk_cannot_issue_a_device_link(client, hall):
    kiosk = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="取号机")
    sign_in(client, hall.li_na)
    assert client.post("/lead/devices/", {"device": kiosk.pk, "reason": "x"}).status_code == 403
    with pytest.raises(PermissionDenied):
        hall_device_link_issue(device_id=kiosk.pk, actor=hall.li_na, reason="x")
    assert not AuditEvent.objects.filter(event_type="device.link_issued").exists()


def test_a_pad_without_a_window_or_a_kiosk_with_one_is_refused(hall):
    for device in (
        HallDevice(kind=HallDevice.Kind.PAD, name="评价器"),
        HallDevice(kind=HallDevice.Kind.KIOSK, name="取号机", window=hall.window),
    ):
        with pytest.raises(ValidationError):
            device.full_clean()


# --- The kiosk's slip --------------------------------------------------------------------


def test_a_kiosk_shows_the_slip_it_has_just_issued_and_returns_to_the_start(
    client, hall, register_device
):
    register_device(client, "kiosk")
    response = client.post("/kiosk/", {"item": hall.item.pk})
    slip = client.get(response["Location"])
    page = slip.content.decode()
    assert slip.status_code == 200 and "A001" in page
    assert 'http-equiv="refresh" content="20;url=/kiosk/"' in page  # KIOSK_RETURN_SECONDS


def test_a_kiosk_cannot_open_another_tickets_slip(client, hall, register_device):
    other_kiosk = Client()
    register_device(other_kiosk, "kiosk")
    other_kiosk.post("/kiosk/", {"item": hall.item.pk})
    earlier = Ticket.objects.get()
    by_hand = services.ticket_issue(item=hall.item)
    register_device(client, "kiosk")
    for ticket in (earlier, by_hand):
        response = client.get(f"/kiosk/tickets/{ticket.pk}/")
        assert response.status_code == 404
        assert ticket.public_token not in response.content.decode()


def test_a_kiosk_cannot_reopen_its_own_slip_after_the_time_window(
    client, hall, register_device, settings
):
    register_device(client, "kiosk")
    location = client.post("/kiosk/", {"item": hall.item.pk})["Location"]
    with bulk_writes_allowed():  # two minutes pass
        Ticket.objects.update(
            issued_at=timezone.now() - datetime.timedelta(seconds=settings.KIOSK_SLIP_SECONDS + 1)
        )
    gone = client.get(location)
    assert gone.status_code == 404 and 'data-testid="slip-gone"' in gone.content.decode()


# --- The rating pad ------------------------------------------------------------------------


@pytest.fixture
def served(hall):
    """Two services finished at window 1 (an earlier and the latest)."""
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    tickets = []
    for _ in range(2):
        services.window_declare_ready(clerk=hall.li_na)
        tickets.append(services.ticket_issue(item=hall.item))
        services.ticket_finish(clerk=hall.li_na)
    return tickets


@pytest.fixture
def pad(hall):
    """Window 1's registered pad: (device, credential)."""
    return registered_device(HallDevice.Kind.PAD, hall.window, name="评价器")


def _pad_client(pad):
    client = Client()
    client.cookies[DEVICE_COOKIE] = pad.credential
    return client


def test_a_pad_without_its_credential_is_refused(client, hall, served, pad):
    assert client.get("/rating/").status_code == 403
    assert client.post("/rating/", {"ticket": served[1].pk, "level": 5}).status_code == 403
    sign_in(client, hall.li_na)
    assert client.post("/rating/", {"ticket": served[1].pk, "level": 5}).status_code == 403
    api = APIClient()
    assert api.post("/api/rating-pad/", {"ticket": served[1].pk, "level": 5}).status_code in (
        401,
        403,
    )
    assert not Rating.objects.exists()


def test_a_kiosk_credential_is_not_a_pad(hall, served, register_device):
    kiosk = Client()
    register_device(kiosk, "kiosk")
    assert kiosk.post("/rating/", {"ticket": served[1].pk, "level": 5}).status_code == 403
    assert not Rating.objects.exists()


def test_a_pad_rates_the_service_just_finished_at_its_window(served, pad):
    client = _pad_client(pad)
    assert served[1].display_number in client.get("/rating/").content.decode()
    assert client.post("/rating/", {"ticket": served[1].pk, "level": 5}).status_code == 200
    rating = Rating.objects.get()
    assert (rating.ticket_id, rating.sequence) == (served[1].pk, 1)
    event = AuditEvent.objects.get(event_type="rating.submitted")
    assert event.data["pad"] == pad.device.pk


def test_a_pad_cannot_rate_an_older_ticket(served, pad):
    response = _pad_client(pad).post(
        "/rating/", {"ticket": served[0].pk, "level": 1, "reason": "x"}
    )
    assert response.status_code == 400
    with pytest.raises(ValidationError) as refused:
        rating_services.rating_pad_submit(pad=pad.device, ticket_id=served[0].pk, level=5)
    assert refused.value.code == "not_latest"
    assert not Rating.objects.exists()


def test_a_pad_cannot_rate_twice(served, pad):
    client = _pad_client(pad)
    client.post("/rating/", {"ticket": served[1].pk, "level": 5})
    assert (
        client.post("/rating/", {"ticket": served[1].pk, "level": 1, "reason": "x"}).status_code
        == 400
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {pad.credential}")
    assert api.get("/api/rating-pad/").status_code == 204
    again = api.post("/api/rating-pad/", {"ticket": served[1].pk, "level": 4}, format="json")
    assert again.status_code == 409
    assert Rating.objects.count() == 1


def test_a_pad_cannot_rate_after_its_minutes(served, pad, settings):
    with bulk_writes_allowed():  # the citizen walked away; the next minutes pass
        Ticket.objects.filter(pk=served[1].pk).update(
            finished_at=timezone.now()
            - datetime.timedelta(minutes=settings.RATING_PAD_MINUTES, seconds=1)
        )
    client = _pad_client(pad)
    assert served[1].display_number not in client.get("/rating/").content.decode()
    assert client.post("/rating/", {"ticket": served[1].pk, "level": 5}).status_code == 400
    assert not Rating.objects.exists()


def test_the_pad_of_window_1_cannot_rate_window_2s_ticket(hall, pad, served):
    window_2 = WindowFactory(number=2, queue=hall.window.queue)
    clerk_2 = make_staff(Role.CLERK)
    services.window_pause(clerk=hall.li_na, reason="午休")  # window 1 takes no ticket now
    services.window_sign_on(clerk=clerk_2, window_id=window_2.pk)
    services.window_declare_ready(clerk=clerk_2)
    ticket = services.ticket_issue(item=hall.item)
    services.ticket_finish(clerk=clerk_2)
    response = _pad_client(pad).post("/rating/", {"ticket": ticket.pk, "level": 5})
    assert response.status_code == 403
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {pad.credential}")
    refused = api.post("/api/rating-pad/", {"ticket": ticket.pk, "level": 5}, format="json")
    assert refused.status_code == 403
    assert not Rating.objects.exists()


def test_the_citizen_still_rates_later_from_the_ticket_page(client, served, pad):
    rating_services.rating_pad_submit(pad=pad.device, ticket_id=served[1].pk, level=5)
    older = served[0]
    assert (
        client.post(f"/t/{older.public_token}/", {"action": "rate", "level": 4}).status_code == 302
    )
    latest = served[1]
    assert (
        client.post(f"/t/{latest.public_token}/", {"action": "rate", "level": 3}).status_code == 302
    )
    assert sorted(Rating.objects.values_list("ticket_id", "sequence")) == [
        (older.pk, 1),
        (latest.pk, 1),
        (latest.pk, 2),
    ]

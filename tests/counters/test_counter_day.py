"""Issue 19, the counter's working day: finishing returns the window to its real state,
a no-show needs calls and a minimum wait (one more call for priority), the counter keys
on every counter page, the hall's opening hours, one open ticket per ID number and
queue, the kiosk's slip returning to the start, and a case waiting for its draw."""

import datetime
import wave
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from cases import services as case_services
from counters import services
from counters.models import Queue, Ticket, Window
from front.views import CALL_CLIPS
from langzhong_si.calendar import hall_is_open, hall_next_opening
from langzhong_si.errors import StateConflict
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    MaterialFactory,
    WindowFactory,
    as_if_awaiting_its_draw,
    hall_case_accept,
    make_id_number,
    make_staff,
    registered_device,
    sign_in,
)

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
HOURS = [(datetime.time(8, 30), datetime.time(12)), (datetime.time(14), datetime.time(17, 30))]


@pytest.fixture
def serving(hall):
    """li_na at window 1 is serving A001 (called just now)."""
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    return services.ticket_issue(item=hall.item)


def _state(window) -> str:
    return Window.objects.get(pk=window.pk).state


def _at(monkeypatch, moment: datetime.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- F8: the window's real state after finishing ------------------------------------------


def test_finishing_a_service_leaves_the_window_ready_not_paused(hall, serving):
    services.ticket_finish(clerk=hall.li_na)
    window = Window.objects.get(pk=hall.window.pk)
    assert (window.state, window.pause_reason, window.current_ticket) == ("ready", "", None)


def test_finishing_hands_the_next_waiting_ticket_to_the_window_at_once(hall, serving):
    waiting = services.ticket_issue(item=hall.item)
    services.ticket_finish(clerk=hall.li_na)
    window = Window.objects.get(pk=hall.window.pk)
    assert (window.state, window.current_ticket_id) == ("serving", waiting.pk)


def test_finish_then_pause_pauses_the_window_with_the_reason_given(hall, serving):
    services.ticket_issue(item=hall.item)
    services.ticket_finish(clerk=hall.li_na, pause_reason="整理档案")
    window = Window.objects.get(pk=hall.window.pk)
    assert (window.state, window.pause_reason) == ("paused", "整理档案")
    assert Ticket.objects.filter(status="waiting").count() == 1, "the next one still waits"


def test_the_live_hall_and_workbench_show_ready_after_f8(client, hall, serving):
    sign_in(client, hall.li_na)
    client.post("/counter/finish/")
    page = client.get("/counter/").content.decode()
    assert 'data-testid="window-state">空闲待叫号<' in page


# --- F4: no-show only after calls and a minimum wait -------------------------------------


def test_a_no_show_is_refused_before_the_minimum_wait_and_changes_nothing(
    hall, serving, time_passes
):
    for _call in range(django_settings.NO_SHOW_MIN_RECALLS):
        services.ticket_recall(clerk=hall.li_na)
    time_passes(seconds=django_settings.NO_SHOW_MIN_WAIT_SECONDS - 5)
    with pytest.raises(StateConflict) as refused:
        services.ticket_no_show(clerk=hall.li_na)
    assert refused.value.code == "wait_first"
    assert "A001" in refused.value.messages[0]
    assert Ticket.objects.get(pk=serving.pk).status == "serving"
    assert _state(hall.window) == "serving"
    time_passes(seconds=6)
    assert services.ticket_no_show(clerk=hall.li_na).status == "no_show"


def test_the_minimum_wait_counts_from_the_first_call_not_the_latest(hall, serving, time_passes):
    time_passes(seconds=django_settings.NO_SHOW_MIN_WAIT_SECONDS)
    for _call in range(django_settings.NO_SHOW_MIN_RECALLS):
        services.ticket_recall(clerk=hall.li_na)  # called again just now
    assert services.ticket_no_show(clerk=hall.li_na).status == "no_show"


def test_the_minimum_wait_is_a_setting(hall, serving, settings):
    settings.NO_SHOW_MIN_WAIT_SECONDS = 0
    for _call in range(settings.NO_SHOW_MIN_RECALLS):
        services.ticket_recall(clerk=hall.li_na)
    assert services.ticket_no_show(clerk=hall.li_na).status == "no_show"


def test_a_priority_ticket_needs_one_more_call_before_a_no_show(hall, time_passes):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    elderly = make_id_number(birth=datetime.date(1948, 3, 2))  # 76 and over: priority
    ticket = services.ticket_issue(item=hall.item, id_number=elderly)
    assert ticket.is_priority
    for _call in range(django_settings.NO_SHOW_MIN_RECALLS):
        services.ticket_recall(clerk=hall.li_na)
    time_passes(minutes=5)
    with pytest.raises(StateConflict) as refused:
        services.ticket_no_show(clerk=hall.li_na)
    assert refused.value.code == "recall_first"
    services.ticket_recall(clerk=hall.li_na)
    assert services.ticket_no_show(clerk=hall.li_na).status == "no_show"


def test_a_disabled_citizens_request_also_earns_the_extra_call(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    ticket = services.ticket_issue(item=hall.item, priority_request="disabled")
    assert services.no_show_recalls_required(ticket) == django_settings.NO_SHOW_MIN_RECALLS + 1


def test_a_too_early_no_show_is_a_409_with_its_reason_on_the_api(hall, serving):
    api = APIClient()
    sign_in(api, hall.li_na)
    response = api.post("/api/counter/no-show/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "recall_first"
    assert Ticket.objects.get(pk=serving.pk).status == "serving"


def test_a_too_early_no_show_on_the_workbench_says_why(client, hall, serving):
    sign_in(client, hall.li_na)
    page = client.post("/counter/no-show/", follow=True).content.decode()
    assert "A001" in page and "过早" in page
    assert Ticket.objects.get(pk=serving.pk).status == "serving"


def test_the_workbench_asks_to_confirm_a_no_show(client, hall, serving):
    sign_in(client, hall.li_na)
    page = client.get("/counter/").content.decode()
    assert 'data-confirm="no-show-confirm"' in page
    assert 'id="no-show-confirm"' in page and "A001" in page


# --- the counter keys on every counter page -----------------------------------------------


@pytest.fixture
def case_at_window(hall, serving, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return hall_case_accept(hall)


def test_the_counter_keys_are_on_a_case_page_of_a_clerk_at_a_window(client, hall, case_at_window):
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case_at_window.pk}/").content.decode()
    for key in ("F2", "F3", "F4", "F8", "F9"):
        assert f'data-counter-key="{key}"' in page
    assert 'id="no-show-confirm"' in page
    assert "counter_keys.js" in page


def test_the_counter_keys_are_not_shown_to_a_clerk_signed_on_nowhere(client, hall):
    sign_in(client, hall.li_na)
    assert "data-counter-key" not in client.get("/account/").content.decode()


def test_a_counter_key_pressed_on_a_case_page_comes_back_to_it(client, hall, case_at_window):
    sign_in(client, hall.li_na)
    here = f"/counter/cases/{case_at_window.pk}/"
    response = client.post("/counter/finish/", {"next": here})
    assert response["Location"] == here
    assert _state(hall.window) == "ready"


def test_a_counter_key_never_sends_the_clerk_off_site(client, hall, serving):
    sign_in(client, hall.li_na)
    response = client.post("/counter/recall/", {"next": "https://elsewhere.example/"})
    assert response["Location"] == "/counter/"


# --- opening hours and the working-day calendar ---------------------------------------------


def test_the_hall_is_open_in_the_sessions_of_a_working_day_only():
    tuesday = datetime.date(2024, 6, 18)
    at = lambda h, m: datetime.datetime.combine(tuesday, datetime.time(h, m), tzinfo=SHANGHAI)  # noqa: E731
    assert hall_is_open(at(8, 30), HOURS) and hall_is_open(at(16, 0), HOURS)
    assert not hall_is_open(at(8, 29), HOURS)
    assert not hall_is_open(at(12, 30), HOURS), "lunch break"
    assert not hall_is_open(at(17, 30), HOURS)


def test_after_the_morning_session_the_hall_opens_again_after_lunch():
    noon = datetime.datetime(2024, 6, 18, 12, 5, tzinfo=SHANGHAI)
    assert hall_next_opening(noon, HOURS) == datetime.datetime(2024, 6, 18, 14, tzinfo=SHANGHAI)


def test_after_a_public_holiday_the_hall_opens_on_the_next_working_day():
    national_day = datetime.datetime(2024, 10, 1, 10, tzinfo=SHANGHAI)
    assert not hall_is_open(national_day, HOURS)
    # 1–7 October 2024 are holidays (and 29 Sept / 12 Oct adjusted working days).
    expected = datetime.datetime(2024, 10, 8, 8, 30, tzinfo=SHANGHAI)
    assert hall_next_opening(national_day, HOURS) == expected


def test_no_ticket_is_issued_in_the_lunch_break(hall, settings, monkeypatch):
    settings.HALL_HOURS_ENFORCED = True
    _at(monkeypatch, datetime.datetime(2024, 6, 18, 12, 30, tzinfo=SHANGHAI))
    with pytest.raises(services.HallClosed) as refused:
        services.ticket_issue(item=hall.item)
    assert "2024-06-18 14:00" in refused.value.messages[0]
    assert not Ticket.objects.exists()


def test_the_kiosk_shows_closed_and_the_next_opening_after_hours(
    client, hall, settings, monkeypatch, register_device
):
    settings.HALL_HOURS_ENFORCED = True
    register_device(client, "kiosk")
    _at(monkeypatch, datetime.datetime(2024, 6, 21, 18, 0, tzinfo=SHANGHAI))  # a Friday
    page = client.get("/kiosk/").content.decode()
    assert 'data-testid="kiosk-closed"' in page
    assert "2024-06-24 08:30" in page, "Monday morning"
    assert 'name="item"' not in page
    response = client.post("/kiosk/", {"item": hall.item.pk})
    assert response.status_code == 409 and not Ticket.objects.exists()


def test_the_kiosk_api_refuses_a_ticket_outside_hours_with_409(hall, settings, monkeypatch):
    settings.HALL_HOURS_ENFORCED = True
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {registered_device('kiosk').credential}")
    _at(monkeypatch, datetime.datetime(2024, 6, 22, 10, 0, tzinfo=SHANGHAI))  # a Saturday
    response = api.post("/api/kiosk/tickets/", {"item": hall.item.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "hall_closed"


def test_the_kiosk_issues_tickets_within_opening_hours(hall, settings, monkeypatch):
    settings.HALL_HOURS_ENFORCED = True
    _at(monkeypatch, datetime.datetime(2024, 6, 18, 9, 0, tzinfo=SHANGHAI))
    assert services.ticket_issue(item=hall.item).display_number == "A001"


# --- one open ticket per ID number and queue -------------------------------------------------


def test_one_id_number_holds_one_open_ticket_per_queue_but_may_wait_in_both(hall):
    number = make_id_number()
    services.ticket_issue(item=hall.item, id_number=number)
    with pytest.raises(StateConflict) as refused:
        services.ticket_issue(item=hall.item, id_number=number)
    assert refused.value.code == "already_waiting"
    back_office = ItemFactory(at_counter=False)
    assert services.ticket_issue(item=back_office, id_number=number).queue == Queue.BACK_OFFICE


def test_the_database_refuses_a_second_open_ticket_for_one_id_number_in_one_queue(hall):
    first = services.ticket_issue(item=hall.item, id_number=make_id_number())
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            service_date=first.service_date,
            queue=first.queue,
            sequence=99,
            item=hall.item,
            applicant_id_digest=first.applicant_id_digest,
            issued_at=timezone.now(),
        )


def test_a_cancelled_ticket_frees_the_id_number_for_a_new_one(hall):
    number = make_id_number()
    ticket = services.ticket_issue(item=hall.item, id_number=number)
    services.ticket_cancel(public_token=ticket.public_token)
    assert services.ticket_issue(item=hall.item, id_number=number).status == "waiting"


# --- the kiosk's slip and keypad -----------------------------------------------------------


def test_the_slip_returns_to_the_start_screen_after_kiosk_return_seconds(
    client, hall, settings, register_device
):
    settings.KIOSK_RETURN_SECONDS = 12
    register_device(client, "kiosk")
    slip = client.get(client.post("/kiosk/", {"item": hall.item.pk})["Location"])
    assert 'http-equiv="refresh" content="12;url=/kiosk/"' in slip.content.decode()


def test_the_kiosk_offers_a_keypad_for_the_id_number(client, register_device):
    register_device(client, "kiosk")
    page = client.get("/kiosk/").content.decode()
    assert 'data-keypad-for="id_id_number"' in page
    for key in [*"0123456789", "X", "delete", "clear"]:
        assert f'data-key="{key}"' in page


# --- the call display's clips ----------------------------------------------------------------


def test_a_recorded_clip_ships_for_every_letter_digit_and_word_of_a_call():
    root = Path(django_settings.BASE_DIR) / "static" / "audio" / "calls"
    for name in CALL_CLIPS:
        with wave.open(str(root / f"{name}.wav"), "rb") as clip:
            assert clip.getnframes() / clip.getframerate() > 0.1, name


def test_the_display_page_lists_the_clips_and_its_sound_prompt(client, register_device):
    register_device(client, "display")
    page = client.get("/display/").content.decode()
    assert 'id="call-clips"' in page and "audio/calls/chuangkou.wav" in page
    assert 'data-testid="sound-prompt"' in page and "call_display.js" in page


# --- a case waiting for its draw -------------------------------------------------------------


def test_a_case_waiting_for_its_draw_says_drawing_and_updates_itself(client, hall, serving):
    case = hall_case_accept(hall)
    as_if_awaiting_its_draw(case)
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    progress = page.split('data-testid="case-progress"')[1].split("</dd>")[0]
    assert "正在抽取审核人" in progress and 'hx-trigger="every 2s"' in progress
    assert "无符合条件" not in page


def test_nobody_eligible_appears_only_after_the_draw_found_an_empty_pool(
    client, django_capture_on_commit_callbacks
):
    clerk = make_staff(Role.CLERK)
    window = WindowFactory(number=7)
    item = ItemFactory(risk_level=1)  # and no reviewer anywhere
    material = MaterialFactory(item=item)
    services.window_sign_on(clerk=clerk, window_id=window.pk)
    services.window_declare_ready(clerk=clerk)
    services.ticket_issue(item=item)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=clerk,
            item_id=item.pk,
            applicant_name="王大山",
            id_number=make_id_number(),
            received_material_ids={material.pk},
        )
    sign_in(client, clerk)
    progress = (
        client.get(f"/counter/cases/{case.pk}/")
        .content.decode()
        .split('data-testid="case-progress"')[1]
        .split("</dd>")[0]
    )
    assert "无符合条件" in progress and "hx-trigger" not in progress

"""One person, one identity: the same ID number typed with full-width digits,
spaces or a lower-case x is the same citizen everywhere (digest, recusal, repeated-pair
finding, re-take flag, progress look-up); other scripts' digits are refused. And the
progress look-up counts failures, per case number and per client."""

import pytest
from rest_framework.test import APIClient

from cases import services as case_services
from counters import services
from counters.models import Case, Ticket
from devices.models import HallDevice
from inspection.rules import case_audit
from langzhong_si.identity import id_number_digest
from risk import services as risk_services
from staff.roles import Role
from tests.factories import ItemFactory, make_id_number, make_staff, registered_device, sign_in

pytestmark = pytest.mark.django_db

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _spaced(number: str) -> str:
    return f"{number[:6]} {number[6:14]} {number[14:].lower()}"


def _accept(hall, id_number: str, *, item=None, django_capture_on_commit_callbacks=None) -> Case:
    item = item or hall.item
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=item)
    case = case_services.case_accept(
        clerk=hall.li_na,
        item_id=item.pk,
        applicant_name="王大山",
        id_number=id_number,
        received_material_ids={m.pk for m in item.materials.all()},
    )
    services.ticket_finish(clerk=hall.li_na)
    return case


@pytest.fixture
def at_window(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    return hall


def test_the_same_applicant_typed_with_full_width_digits_has_the_same_digest(at_window):
    number = make_id_number()
    case = _accept(at_window, number.translate(FULL_WIDTH))
    assert case.applicant_id_digest == id_number_digest(number)
    assert case.applicant_id_masked.endswith(number[-4:])


def test_the_same_applicant_in_three_spellings_is_a_repeated_pair(at_window):
    item = ItemFactory(risk_level=0)
    number = make_id_number()
    cases = [_accept(at_window, typed, item=item) for typed in
             (number, number.translate(FULL_WIDTH), _spaced(number))]  # fmt: skip
    assert len({case.applicant_id_digest for case in cases}) == 1
    assert "repeated_pair" in case_audit(case_id=cases[-1].pk)


def test_a_declared_relative_typed_in_full_width_at_intake_is_still_recused(
    at_window, django_capture_on_commit_callbacks
):
    other = make_staff(Role.REVIEWER, review_level=3)  # so the draw has someone to choose
    number = make_id_number()
    risk_services.recusal_relative_add(
        user=at_window.zhou, password="Demo-pass-123", id_number=number, relation="spouse"
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = _accept(at_window, number.translate(FULL_WIDTH))
    task = case.tasks.get()
    assert task.assignee == other
    assert {"user": at_window.zhou.pk, "reason": "relative"} in task.draw.excluded


def test_cancelled_tickets_in_different_spellings_flag_the_retake(hall, settings):
    settings.RETAKE_FLAG_AFTER_CANCELLATIONS = 2
    number = make_id_number()
    for typed in (number, number.translate(FULL_WIDTH)):
        services.ticket_cancel(
            public_token=services.ticket_issue(item=hall.item, id_number=typed).public_token
        )
    assert services.ticket_issue(item=hall.item, id_number=_spaced(number)).flagged_retake


def test_a_kiosk_ticket_with_arabic_indic_digits_is_refused(hall):
    _kiosk, credential = registered_device(HallDevice.Kind.KIOSK, name="k")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    typed = make_id_number().translate(ARABIC_INDIC)
    response = api.post(
        "/api/kiosk/tickets/", {"item": hall.item.pk, "id_number": typed}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "id_number_characters"
    assert Ticket.objects.count() == 0


def test_the_intake_screen_refuses_arabic_indic_digits_with_a_form_error(at_window, client):
    services.window_declare_ready(clerk=at_window.li_na)
    services.ticket_issue(item=at_window.item)
    sign_in(client, at_window.li_na)
    response = client.post(
        "/counter/intake/",
        {
            "item": at_window.item.pk,
            "applicant_name": "王大山",
            "id_number": make_id_number().translate(ARABIC_INDIC),
            "materials": [at_window.material.pk],
        },
    )
    assert response.status_code == 400
    assert "0–9" in response.content.decode() and Case.objects.count() == 0


def test_the_intake_api_refuses_a_name_with_a_right_to_left_override(at_window):
    services.window_declare_ready(clerk=at_window.li_na)
    services.ticket_issue(item=at_window.item)
    api = APIClient()
    sign_in(api, at_window.li_na)
    response = api.post(
        "/api/counter/intake/",
        {"item": at_window.item.pk, "applicant_name": "王\u202e山大",
         "id_number": make_id_number(), "received_material_ids": [at_window.material.pk]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invisible_characters"
    assert Case.objects.count() == 0


# --- The progress look-up counts failures --------------------------------------------------


@pytest.fixture
def progress_case(at_window):
    number = make_id_number()
    return _accept(at_window, number), number


def _look_up(number, suffix, address="203.0.113.9", forged=None):
    headers = {"REMOTE_ADDR": address}
    if forged:
        headers["HTTP_X_FORWARDED_FOR"] = forged
    return APIClient().get("/api/progress/", {"number": number, "id_suffix": suffix}, **headers)


def test_a_full_width_id_suffix_finds_the_case(progress_case):
    case, number = progress_case
    assert _look_up(case.number, number[-4:].translate(FULL_WIDTH)).status_code == 200


def test_guessing_one_cases_id_suffix_from_many_addresses_is_stopped(progress_case, settings):
    settings.PROGRESS_FAILURES_PER_CASE = 5
    case, number = progress_case
    wrong = [f"{n:04d}" for n in range(10) if f"{n:04d}" != number[-4:]]
    codes = [
        _look_up(case.number, guess, address=f"198.51.100.{n}", forged=f"192.0.2.{n}").status_code
        for n, guess in enumerate(wrong[:5])
    ]
    assert codes == [404] * 5
    # The budget of this case number is spent: even the right suffix, from a fresh address.
    assert _look_up(case.number, number[-4:], address="198.51.100.99").status_code == 429


def test_one_client_guessing_many_cases_is_stopped_whatever_it_forwards(settings):
    settings.PROGRESS_FAILURES_PER_CLIENT = 5
    codes = [
        _look_up(f"2026010100{n:03d}", "1234", forged=f"192.0.2.{n}").status_code for n in range(6)
    ]
    assert codes == [404] * 5 + [429]


def test_a_citizens_successful_look_ups_are_never_blocked(progress_case, settings):
    settings.PROGRESS_FAILURES_PER_CASE = 3
    settings.PROGRESS_FAILURES_PER_CLIENT = 3
    case, number = progress_case
    assert _look_up(case.number, "0000" if number[-4:] != "0000" else "1111").status_code == 404
    codes = {_look_up(case.number, number[-4:]).status_code for _ in range(50)}
    assert codes == {200}


def test_the_progress_page_stops_guessing_one_case_from_many_addresses(
    progress_case, settings, client
):
    settings.PROGRESS_FAILURES_PER_CASE = 3
    case, number = progress_case
    wrong = [f"{n:04d}" for n in range(6) if f"{n:04d}" != number[-4:]][:3]
    for n, guess in enumerate(wrong):
        page = client.get("/progress/", {"case": case.number, "id4": guess},
                          REMOTE_ADDR=f"198.51.100.{n}")  # fmt: skip
        assert page.status_code == 200 and 'data-testid="progress"' not in page.content.decode()
    refused = client.get("/progress/", {"case": case.number, "id4": number[-4:]})
    assert refused.status_code == 429


def test_the_progress_page_never_blocks_successful_look_ups(progress_case, settings, client):
    settings.PROGRESS_FAILURES_PER_CLIENT = 2
    case, number = progress_case
    for _ in range(30):
        page = client.get("/progress/", {"case": case.number, "id4": number[-4:]})
        assert page.status_code == 200 and 'data-testid="progress"' in page.content.decode()


def test_pressing_f9_twice_opens_one_case_and_one_review_chain(
    at_window, django_capture_on_commit_callbacks
):
    from langzhong_si.errors import StateConflict
    from risk.models import ReviewTask

    services.window_declare_ready(clerk=at_window.li_na)
    services.ticket_issue(item=at_window.item)
    intake = {
        "clerk": at_window.li_na, "item_id": at_window.item.pk, "applicant_name": "王大山",
        "id_number": make_id_number(),
        "received_material_ids": {m.pk for m in at_window.item.materials.all()},
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        first = case_services.case_accept(**intake)
    with pytest.raises(StateConflict) as refused:
        case_services.case_accept(**intake)
    assert refused.value.code == "duplicate_case" and first.number in refused.value.messages[0]
    assert Case.objects.count() == 1 and ReviewTask.objects.count() == 1

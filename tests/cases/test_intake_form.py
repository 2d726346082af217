"""Issue 19, point 1: an intake form opens at most one case however often it is sent,
and a refused intake comes back with everything typed and ticked."""

import re

import pytest
from django.db import IntegrityError, transaction

from cases import services as case_services
from counters import services
from counters.models import Case
from tests.factories import MaterialFactory, make_id_number, sign_in

pytestmark = pytest.mark.django_db


def _serving(client, hall):
    sign_in(client, hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk})
    client.post("/counter/ready/")
    services.ticket_issue(item=hall.item)


def _form_token(client, hall) -> str:
    page = client.get("/counter/", {"item": hall.item.pk}).content.decode()
    return re.search(r'name="intake_token" value="([^"]+)"', page).group(1)


def _post(client, hall, token, follow=False, **fields):
    data = {
        "item": hall.item.pk,
        "applicant_name": "王大山",
        "id_number": make_id_number(serial=7),
        "materials": [hall.material.pk],
        "intake_token": token,
        **fields,
    }
    return client.post("/counter/intake/", data, follow=follow)


def test_the_workbench_issues_a_fresh_intake_token_with_each_form(client, hall):
    _serving(client, hall)
    first, second = _form_token(client, hall), _form_token(client, hall)
    assert len(first) >= 16 and first != second


def test_the_same_intake_form_sent_twice_opens_one_case_and_answers_with_it(
    client, hall, django_capture_on_commit_callbacks
):
    _serving(client, hall)
    token = _form_token(client, hall)
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(client, hall, token)
        again = _post(client, hall, token, follow=True)
    case = Case.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/counter/cases/{case.pk}/"
    assert again.redirect_chain[-1][0] == f"/counter/cases/{case.pk}/"
    assert case.number in again.content.decode()
    assert Case.objects.count() == 1 and case.tasks.count() == 1


def test_a_second_form_with_another_token_is_still_refused_as_a_duplicate_case(
    client, hall, django_capture_on_commit_callbacks
):
    _serving(client, hall)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, hall, _form_token(client, hall))
        refused = _post(client, hall, _form_token(client, hall))
    assert refused.status_code == 400
    assert Case.objects.count() == 1


def test_the_same_intake_token_is_answered_with_its_case_after_the_ticket_is_finished(
    hall, django_capture_on_commit_callbacks
):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    token = "t" * 32
    arguments = {
        "clerk": hall.li_na, "item_id": hall.item.pk, "applicant_name": "王大山",
        "id_number": make_id_number(), "received_material_ids": {hall.material.pk},
        "intake_token": token,
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(**arguments)
    services.ticket_finish(clerk=hall.li_na)
    with pytest.raises(case_services.IntakeRepeated) as repeated:
        case_services.case_accept(**arguments)
    assert repeated.value.case == case and repeated.value.code == "intake_repeated"


def test_the_database_refuses_a_second_case_with_the_same_intake_token(submitted_case):
    case, _number = submitted_case
    case.intake_token = "x" * 32
    case.save(update_fields=["intake_token"])
    twin = Case.objects.get(pk=case.pk)
    twin.pk, twin.number = None, "2099010100001"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_the_api_answers_409_when_an_intake_token_comes_again(
    hall, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    api = APIClient()
    sign_in(api, hall.li_na)
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    body = {"item": hall.item.pk, "applicant_name": "王大山", "id_number": make_id_number(),
            "received_material_ids": [hall.material.pk], "intake_token": "k" * 24}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/counter/intake/", body, format="json").status_code == 201
        again = api.post("/api/counter/intake/", body, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "intake_repeated"
    assert Case.objects.count() == 1


def test_a_refused_intake_shows_everything_typed_and_ticked_again(client, hall):
    optional = MaterialFactory(item=hall.item, name="委托书", required=True, is_key=False)
    _serving(client, hall)
    token = _form_token(client, hall)
    wrong = make_id_number(serial=8)[:-1] + ("0" if make_id_number(serial=8)[-1] != "0" else "1")
    response = _post(
        client, hall, token, id_number=wrong, applicant_phone="13800138000",
        materials=[hall.material.pk, optional.pk], defer_missing="on",
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400 and not Case.objects.exists()
    assert "身份证号码校验位不正确" in page
    assert f'value="{wrong}"' in page
    assert 'value="王大山"' in page and 'value="13800138000"' in page
    for material in (hall.material, optional):
        assert re.search(rf'value="{material.pk}" id="material-{material.pk}" checked', page)
    assert re.search(r'id="id_defer_missing" checked', page)
    assert f'name="intake_token" value="{token}"' in page


def test_a_refused_intake_keeps_an_unticked_material_unticked(client, hall):
    other = MaterialFactory(item=hall.item, name="委托书", required=False, is_key=False)
    _serving(client, hall)
    response = _post(client, hall, _form_token(client, hall), id_number="123")
    page = response.content.decode()
    assert re.search(rf'id="material-{hall.material.pk}" checked', page)
    assert not re.search(rf'id="material-{other.pk}" checked', page)
    assert not re.search(r'id="id_defer_missing" checked', page)

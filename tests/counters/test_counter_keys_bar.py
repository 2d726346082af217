"""The counter keys bar offers only what the server would allow."""

import re

import pytest

from cases import services as case_services
from counters import services
from tests.factories import make_id_number, sign_in

pytestmark = pytest.mark.django_db


def _f4_form(page: str) -> str:
    return re.search(r'<form[^>]*data-counter-key="F4"[^>]*>', page).group(0)


@pytest.fixture
def serving(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    return services.ticket_issue(item=hall.item)


def test_the_no_show_key_is_offered_while_the_citizen_called_has_not_come(client, hall, serving):
    sign_in(client, hall.li_na)
    page = client.get("/counter/cases/").content.decode()  # the keys bar is on every page
    assert " hidden" not in _f4_form(page)


def test_the_no_show_key_is_not_offered_once_a_case_is_opened_for_the_ticket(client, hall, serving):
    case = case_services.case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert " hidden" in _f4_form(page)
    assert 'data-counter-key="F8"' in page

"""The workbench's block of who applies: an employer with a checked credit code, an agent
with the authorisation letter, 帮办代办 (HTTP)."""

import pytest

from counters import services
from counters.models import Case
from draws.models import Draw
from risk import services as risk_services
from tests.factories import ItemFactory, MaterialFactory, make_id_number, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def employer_item():
    item = ItemFactory(name="单位参保登记", risk_level=1)
    MaterialFactory(item=item, name="营业执照副本")
    return item


def _serving(client, hall, item):
    sign_in(client, hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk})
    client.post("/counter/ready/")
    services.ticket_issue(item=item)


def _post(client, item, **fields):
    data = {
        "item": item.pk,
        "applicant_name": "王大山",
        "id_number": make_id_number(),
        "materials": list(item.materials.values_list("pk", flat=True)),
        **fields,
    }
    return client.post("/counter/intake/", data)


def test_the_workbench_offers_the_employer_kind_only_for_items_that_take_one(
    client, hall, employer_item
):
    _serving(client, hall, employer_item)
    employer_page = client.get("/counter/", {"item": employer_item.pk}).content.decode()
    person_page = client.get("/counter/", {"item": hall.item.pk}).content.decode()
    assert 'name="credit_code"' in employer_page
    assert 'name="credit_code"' not in person_page
    assert 'name="agent_id_number"' in person_page


def test_an_employer_case_is_accepted_with_its_credit_code_and_goes_to_review(
    client, hall, employer_item, django_capture_on_commit_callbacks
):
    _serving(client, hall, employer_item)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            employer_item,
            applicant_kind="employer",
            credit_code="91110108551385082Q",
            employer_name="阆中市某某有限公司",
        )
    case = Case.objects.get()
    assert response.status_code == 302
    assert (case.applicant_kind, case.status) == ("employer", Case.Status.IN_REVIEW)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "91110108551385082Q" in page and "阆中市某某有限公司" in page


def test_a_wrong_check_character_is_refused_with_a_clear_message_and_nothing_changes(
    client, hall, employer_item
):
    _serving(client, hall, employer_item)
    response = _post(
        client,
        employer_item,
        applicant_kind="employer",
        credit_code="91110108551385082R",
        employer_name="阆中市某某有限公司",
    )
    assert response.status_code == 400
    assert "该统一社会信用代码的校验码不正确" in response.content.decode()
    assert not Case.objects.exists()


def test_an_agent_case_shows_the_agent_masked_and_records_the_letter(
    client, hall, django_capture_on_commit_callbacks
):
    _serving(client, hall, hall.item)
    number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        _post(
            client,
            hall.item,
            via_agent="on",
            agent_name="张代办",
            agent_id_number=number,
            agent_relation="family",
            authorisation_received="on",
        )
    case = Case.objects.get()
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert case.agent_id_masked in page and number not in page
    assert any("授权委托书" in row["name"] and row["received"] for row in case.checklist)


def test_an_agent_without_the_letter_gets_a_notice_listing_it(
    client, hall, django_capture_on_commit_callbacks
):
    _serving(client, hall, hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        _post(
            client,
            hall.item,
            via_agent="on",
            agent_name="张代办",
            agent_id_number=make_id_number(),
            agent_relation="family",
        )
    case = Case.objects.get()
    assert case.status == Case.Status.NOTIFIED
    assert "授权委托书" in client.get(f"/counter/cases/{case.pk}/").content.decode()


def test_an_agent_without_an_id_number_is_refused_at_the_field(client, hall):
    _serving(client, hall, hall.item)
    response = _post(
        client, hall.item, via_agent="on", agent_name="张代办", agent_relation="family"
    )
    assert response.status_code == 400
    assert not Case.objects.exists()


def relative_as_agent_case(client, hall, item, capture) -> Case:
    """A case of `item` brought by an agent whom 周建国 (hall.zhou) declared as his
    spouse, accepted by li_na from the workbench."""
    agent_number = make_id_number()
    risk_services.recusal_relative_add(
        user=hall.zhou, password="Demo-pass-123", id_number=agent_number, relation="spouse"
    )
    _serving(client, hall, item)
    with capture(execute=True):
        _post(
            client,
            item,
            via_agent="on",
            agent_name="张代办",
            agent_id_number=agent_number,
            agent_relation="family",
            authorisation_received="on",
        )
    return Case.objects.get()


def test_a_relative_as_agent_is_excluded_from_the_draw_with_the_reason(
    client, hall, django_capture_on_commit_callbacks
):
    item = ItemFactory(risk_level=1)
    MaterialFactory(item=item)
    case = relative_as_agent_case(client, hall, item, django_capture_on_commit_callbacks)
    task = case.tasks.get()
    risk_services.review_task_draw(task_id=task.pk)
    draw = Draw.objects.get(subject=f"review-task:{task.pk}")
    assert {"user": hall.zhou.pk, "reason": "agent_relative"} in draw.excluded
    assert draw.chosen_id == hall.sun.pk


def test_the_assisting_staff_member_is_recorded_from_the_form(
    client, hall, django_capture_on_commit_callbacks
):
    _serving(client, hall, hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, hall.item, assisted="on", assisting_staff=hall.ma.pk)
    assert Case.objects.get().assisting_staff == hall.ma


def test_assisted_without_a_staff_member_is_refused(client, hall):
    _serving(client, hall, hall.item)
    response = _post(client, hall.item, assisted="on")
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_the_reviewer_sees_the_agent_masked_and_never_who_helped(
    client, hall, django_capture_on_commit_callbacks
):
    _serving(client, hall, hall.item)
    number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        _post(
            client,
            hall.item,
            via_agent="on",
            agent_name="张代办",
            agent_id_number=number,
            agent_relation="family",
            authorisation_received="on",
            assisted="on",
            assisting_staff=hall.ma.pk,
        )
    task = risk_services.review_task_draw(task_id=Case.objects.get().tasks.get().pk)
    sign_in(client, task.assignee)
    html = client.get(f"/inbox/tasks/{task.pk}/").content.decode()
    assert "张代办" in html and number not in html
    assert 'data-testid="case-assisted"' in html
    assert "马玉兰" not in html

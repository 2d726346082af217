"""Staff record their own ID number and declare relatives (after re-entering their
password); the draws then recuse them; the team lead sees who declared, never a number."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from counters.models import Case
from langzhong_si.identity import id_number_digest, id_number_mask
from risk import services
from risk.models import RecusalDeclaration, ReviewTask, StaffRelative
from risk.selectors import review_pool
from staff.models import Notification, StaffProfile
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"  # every factory-made staff member's


def _post(user, **data):
    client = Client()
    sign_in(client, user)
    response = client.post(reverse("risk:recusal"), data, follow=True)
    assert response.status_code == 200
    return response


def _task_for_applicant(hall, id_number: str) -> ReviewTask:
    case = Case.objects.create(
        number=f"R{Case.objects.count():09d}",
        item=hall.item,
        guide_snapshot={},
        risk_level=2,
        applicant_name="王大山",
        applicant_id_encrypted="",
        applicant_id_digest=id_number_digest(id_number),
        applicant_id_masked=id_number_mask(id_number),
        handler=hall.li_na,
        checklist=[],
        status=Case.Status.IN_REVIEW,
        review_round=1,
        current_step=1,
        accepted_at=timezone.now(),
        due_date=timezone.localdate(),
    )
    return ReviewTask.objects.create(case=case, review_round=1, step=1, role="review")


def test_declaring_ones_own_id_number_recuses_one_from_ones_own_case(hall):
    own = make_id_number()
    _post(hall.zhou, action="own_id", id_number=own, password=PASSWORD)
    pool, excluded = review_pool(task=_task_for_applicant(hall, own))
    assert hall.zhou.pk not in pool
    assert {"user": hall.zhou.pk, "reason": "applicant"} in excluded


def test_declaring_a_relative_recuses_one_from_the_relatives_case(hall):
    relative = make_id_number()
    _post(hall.zhou, action="add_relative", relation="spouse", id_number=relative,
          password=PASSWORD)  # fmt: skip
    pool, excluded = review_pool(task=_task_for_applicant(hall, relative))
    assert hall.zhou.pk not in pool
    assert {"user": hall.zhou.pk, "reason": "relative"} in excluded
    # Someone else's case is not affected.
    pool, _excluded = review_pool(task=_task_for_applicant(hall, make_id_number()))
    assert hall.zhou.pk in pool


def test_a_wrong_password_is_refused_and_nothing_is_stored(hall):
    response = _post(
        hall.zhou, action="own_id", id_number=make_id_number(), password="not-my-password"
    )
    assert "密码不正确" in response.content.decode() or "password is not right" in (
        response.content.decode()
    )
    response = _post(hall.zhou, action="add_relative", relation="child",
                     id_number=make_id_number(), password="")  # fmt: skip
    assert StaffProfile.objects.get(user=hall.zhou).id_number_digest == ""
    assert not StaffRelative.objects.exists()
    assert not RecusalDeclaration.objects.exists()
    refused = AuditEvent.objects.filter(event_type="recusal.password_refused")
    assert refused.count() == 1 and refused.get().outcome == AuditEvent.Outcome.REFUSED


def test_five_wrong_passwords_close_the_form_even_to_the_right_one(hall):
    for _ in range(5):
        _post(hall.zhou, action="confirm", password="wrong")
    response = _post(hall.zhou, action="confirm", password=PASSWORD)
    assert not RecusalDeclaration.objects.exists()
    assert "15" in response.content.decode()


def test_an_invalid_id_number_is_refused_and_nothing_is_stored(hall):
    number = make_id_number()
    broken = number[:-1] + ("0" if number[-1] != "0" else "1")
    _post(hall.zhou, action="own_id", id_number=broken, password=PASSWORD)
    assert StaffProfile.objects.get(user=hall.zhou).id_number_digest == ""
    assert not AuditEvent.objects.filter(event_type__startswith="recusal.").exists()


def test_the_same_relative_twice_is_refused(hall):
    number = make_id_number()
    services.recusal_relative_add(user=hall.zhou, password=PASSWORD, id_number=number,
                                  relation="parent")  # fmt: skip
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.recusal_relative_add(user=hall.zhou, password=PASSWORD, id_number=number,
                                      relation="child")  # fmt: skip
    assert StaffRelative.objects.count() == 1


def test_a_removed_relative_no_longer_recuses(hall):
    number = make_id_number()
    relative = services.recusal_relative_add(
        user=hall.zhou, password=PASSWORD, id_number=number, relation="sibling"
    )
    _post(hall.zhou, action="remove_relative", relative=relative.pk, password=PASSWORD,
          reason="已离婚")  # fmt: skip
    assert not StaffRelative.objects.exists()
    pool, _excluded = review_pool(task=_task_for_applicant(hall, number))
    assert hall.zhou.pk in pool
    assert AuditEvent.objects.filter(event_type="recusal.relative_removed").count() == 1


def test_nobody_removes_another_persons_relative(hall):
    relative = services.recusal_relative_add(
        user=hall.zhou, password=PASSWORD, id_number=make_id_number(), relation="sibling"
    )
    _post(hall.ma, action="remove_relative", relative=relative.pk, password=PASSWORD,
          reason="试图移除他人")  # fmt: skip
    assert StaffRelative.objects.filter(pk=relative.pk).exists()


def _numbers_ending_in_x(count: int) -> list[str]:
    """ID numbers whose last four characters (three digits and the check character X)
    cannot be some other number on a page (an employee number, a count), so finding them
    means the ID number itself leaked."""
    found = []
    for serial in range(1000):
        number = make_id_number(datetime.date(1979, 3, 8), serial=serial)
        if number.endswith("X"):
            found.append(number)
        if len(found) == count:
            return found
    raise AssertionError("no such serials")


def test_no_page_and_no_audit_event_carries_the_numbers(hall):
    own, relative = _numbers_ending_in_x(2)
    _post(hall.zhou, action="own_id", id_number=own, password=PASSWORD)
    page = _post(hall.zhou, action="add_relative", relation="spouse", id_number=relative,
                 password=PASSWORD).content.decode()  # fmt: skip
    lead = make_staff(Role.TEAM_LEAD)
    client = Client()
    sign_in(client, lead)
    overview = client.get(reverse("risk:recusal_overview")).content.decode()
    events = str(
        list(AuditEvent.objects.filter(event_type__startswith="recusal.").values_list("data"))
    )
    for text in (page, overview, events):
        for number in (own, relative):
            assert number not in text
            assert id_number_digest(number) not in text
            assert number[:6] not in text and number[-4:] not in text
            assert id_number_mask(number) not in text


def test_the_team_lead_sees_who_declared_and_when(hall):
    services.recusal_own_id_record(user=hall.zhou, password=PASSWORD, id_number=make_id_number())
    services.recusal_relative_add(
        user=hall.zhou, password=PASSWORD, id_number=make_id_number(), relation="spouse"
    )
    lead = make_staff(Role.TEAM_LEAD)
    client = Client()
    sign_in(client, lead)
    response = client.get(reverse("risk:recusal_overview"))
    rows = {row["name"]: row for row in response.context["rows"]}
    zhou, ma = rows[hall.zhou.staff_profile.display_name], rows[hall.ma.staff_profile.display_name]
    assert (zhou["own_id_recorded"], zhou["relatives"], zhou["due"]) == (True, 1, False)
    assert zhou["confirmed_at"].date() == timezone.now().date()
    assert (ma["own_id_recorded"], ma["relatives"], ma["confirmed_at"], ma["due"]) == (
        False, 0, None, True,
    )  # fmt: skip


def test_the_yearly_reminder_goes_once_a_year_to_whoever_has_not_confirmed_for_a_year(hall):
    services.recusal_confirm(user=hall.zhou, password=PASSWORD)
    services.recusal_confirm(user=hall.ma, password=PASSWORD)
    old = timezone.now() - datetime.timedelta(days=400)
    declaration = RecusalDeclaration.objects.get(user=hall.ma)
    declaration.confirmed_at = old  # as if confirmed 400 days ago
    declaration.save(update_fields=["confirmed_at"])

    services.recusal_reminders_send()
    services.recusal_reminders_send()  # beat runs daily: once per year only
    reminded = Notification.objects.filter(dedupe_key__startswith="recusal-reminder:")
    recipients = sorted(reminded.values_list("recipient_id", flat=True))
    # ma (400 days), li_na and sun (never); not zhou (confirmed today).
    assert recipients == sorted([hall.ma.pk, hall.li_na.pk, hall.sun.pk])
    assert all(n.link == reverse("risk:recusal") for n in reminded)


def test_the_account_page_links_to_the_declaration(hall):
    client = Client()
    sign_in(client, hall.sun)
    assert reverse("risk:recusal") in client.get(reverse("staff:account")).content.decode()


def test_removing_a_relative_needs_a_reason_and_is_a_pool_change(hall):
    relative = services.recusal_relative_add(
        user=hall.zhou, password=PASSWORD, id_number=make_id_number(), relation="sibling"
    )
    with pytest.raises(ValidationError):
        services.recusal_relative_remove(
            user=hall.zhou, password=PASSWORD, relative_id=relative.pk, reason=" "
        )
    assert StaffRelative.objects.filter(pk=relative.pk).exists()
    services.recusal_relative_remove(
        user=hall.zhou, password=PASSWORD, relative_id=relative.pk, reason="已离婚"
    )
    event = AuditEvent.objects.filter(event_type="pool.changed").latest("id")
    assert (event.actor, event.data["change"], event.data["reason"]) == (
        hall.zhou,
        "relative_removed",
        "已离婚",
    )


def test_an_own_id_number_once_recorded_cannot_be_replaced_by_its_owner(hall):
    services.recusal_own_id_record(user=hall.zhou, password=PASSWORD, id_number=make_id_number())
    digest = StaffProfile.objects.get(user=hall.zhou).id_number_digest
    with pytest.raises(ValidationError):
        services.recusal_own_id_record(
            user=hall.zhou, password=PASSWORD, id_number=make_id_number()
        )
    assert StaffProfile.objects.get(user=hall.zhou).id_number_digest == digest


def test_the_security_administrator_clears_a_wrong_own_id_with_a_reason(hall, client):
    services.recusal_own_id_record(user=hall.zhou, password=PASSWORD, id_number=make_id_number())
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    sign_in(client, security)
    client.post(reverse("risk:recusal_own_id_clear", args=[hall.zhou.pk]), {"reason": "登记时输错"})
    assert StaffProfile.objects.get(user=hall.zhou).id_number_digest == ""
    event = AuditEvent.objects.get(event_type="recusal.own_id_cleared")
    assert (event.actor, event.data["reason"]) == (security, "登记时输错")
    assert AuditEvent.objects.filter(
        event_type="pool.changed", data__change="own_id_cleared"
    ).exists()


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.SYSTEM_ADMINISTRATOR, Role.REVIEWER])
def test_only_the_security_administrator_clears_an_own_id(hall, role):
    services.recusal_own_id_record(user=hall.zhou, password=PASSWORD, id_number=make_id_number())
    with pytest.raises(PermissionDenied):
        services.recusal_own_id_clear(user=hall.zhou, cleared_by=make_staff(role), reason="x")
    assert StaffProfile.objects.get(user=hall.zhou).id_number_digest != ""


def _serving(hall):
    from counters import services as counter_services

    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    return counter_services


@pytest.mark.parametrize("declared_as", ["own", "relative"])
def test_a_clerk_cannot_take_in_their_own_or_a_relatives_case(hall, declared_as):
    number = make_id_number()
    if declared_as == "own":
        services.recusal_own_id_record(user=hall.li_na, password=PASSWORD, id_number=number)
    else:
        services.recusal_relative_add(
            user=hall.li_na, password=PASSWORD, id_number=number, relation="parent"
        )
    from cases import services as case_services

    _serving(hall)
    with pytest.raises(ValidationError) as refused:
        case_services.case_accept(
            clerk=hall.li_na, item_id=hall.item.pk, applicant_name="李父",
            id_number=number, received_material_ids={hall.material.pk},
        )  # fmt: skip
    assert refused.value.code == "recused"
    assert not Case.objects.exists()

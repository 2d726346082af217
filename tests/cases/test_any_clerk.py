"""Issue 19, points 2 and 3: any clerk finds a case and continues it (promised
materials, correction, resubmission, reprints), each step recorded with who did it;
returns and rejections reach the handling clerk and their window lead; recusal and
blindness hold throughout."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from cases import services as case_services
from counters import services
from counters.models import Case, CaseDocument
from inbox import services as inbox_services
from risk.models import ReviewTask
from risk.selectors import review_pool
from staff.models import Notification
from staff.roles import Role
from tests.cases.test_uploads_and_progress import _png
from tests.factories import ItemFactory, MaterialFactory, make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db


def _accept(hall, capture, *, item=None, received=None, defer=False, name="王大山", number=None):
    """li_na serves the next ticket and opens a case for it."""
    from counters.models import Window

    item = item or hall.item
    if not Window.objects.filter(clerk=hall.li_na).exists():
        services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=item)
    with capture(execute=True):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=item.pk,
            applicant_name=name,
            id_number=number or make_id_number(),
            received_material_ids={hall.material.pk} if received is None else received,
            defer_missing=defer,
        )
    services.ticket_finish(clerk=hall.li_na)
    return case


def _decide(case, decision, capture, comment="身份证复印件不清晰"):
    task = case.tasks.get(status=ReviewTask.Status.OPEN)
    with capture(execute=True):
        inbox_services.review_task_decide(
            task_id=task.pk, actor=task.assignee, decision=decision, comment=comment
        )
    return task


@pytest.fixture
def deferred(hall, django_capture_on_commit_callbacks):
    """A 容缺 case: li_na accepted it with a non-key material promised."""
    promised = MaterialFactory(item=hall.item, name="解除劳动关系证明", is_key=False)
    case = _accept(hall, django_capture_on_commit_callbacks, defer=True)
    assert case.status == Case.Status.AWAITING_MATERIALS
    return case, promised


# --- The search ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["number", "id4", "id5", "id6", "name", "name id4"])
def test_any_clerk_finds_a_case_by_number_id_ending_or_name(
    client, hall, django_capture_on_commit_callbacks, typed
):
    number = make_id_number(serial=123)
    case = _accept(hall, django_capture_on_commit_callbacks, name="张三丰", number=number)
    _accept(hall, django_capture_on_commit_callbacks, name="李四", number=make_id_number(serial=9))
    query = {
        "number": case.number, "id4": number[-4:], "id5": number[-5:], "id6": number[-6:],
        "name": "张三丰", "name id4": f"张三丰 {number[-4:]}",
    }[typed]  # fmt: skip
    sign_in(client, make_staff(Role.CLERK))
    page = client.get("/counter/cases/", {"q": query}).content.decode()
    assert f"/counter/cases/{case.pk}/" in page and case.applicant_id_masked in page
    assert "李四" not in page
    assert number not in page


def test_an_id_ending_that_differs_in_its_fifth_last_digit_does_not_match(
    client, hall, django_capture_on_commit_callbacks
):
    number = make_id_number(serial=123)
    _accept(hall, django_capture_on_commit_callbacks, number=number)
    other_fifth = str((int(number[-5]) + 1) % 10) + number[-4:]
    sign_in(client, make_staff(Role.CLERK))
    page = client.get("/counter/cases/", {"q": other_fifth}).content.decode()
    assert 'data-testid="search-results"' in page and "/counter/cases/1/" not in page


def test_the_case_search_never_decrypts_an_id_number(
    client, hall, django_capture_on_commit_callbacks, monkeypatch
):
    number = make_id_number(serial=124)
    case = _accept(hall, django_capture_on_commit_callbacks, number=number)

    def refuse(token):
        raise AssertionError("decrypted during a search")

    monkeypatch.setattr("langzhong_si.identity.personal_data_decrypt", refuse)
    monkeypatch.setattr("scans.services.personal_data_decrypt", refuse)
    sign_in(client, make_staff(Role.CLERK))
    assert case.number in client.get("/counter/cases/", {"q": number[-6:]}).content.decode()


def test_each_case_search_is_recorded_with_what_was_searched_masked(
    client, hall, django_capture_on_commit_callbacks
):
    number = make_id_number(serial=125)
    _accept(hall, django_capture_on_commit_callbacks, name="张三丰", number=number)
    clerk = make_staff(Role.CLERK)
    sign_in(client, clerk)
    client.get("/counter/cases/", {"q": f"张三丰 {number[-6:]}"})
    event = AuditEvent.objects.get(event_type="case.searched")
    assert event.actor == clerk and event.data["results"] == 1
    assert event.data["query"] == {"name": "张**", "id_tail": "**" + number[-4:]}
    assert number[-6:] not in str(event.data) and "张三丰" not in str(event.data)


def test_a_search_with_digits_that_are_neither_a_case_number_nor_an_id_ending_says_so(client, hall):
    sign_in(client, hall.li_na)
    page = client.get("/counter/cases/", {"q": "1234567"}).content.decode()
    assert "alert-warning" in page
    assert not AuditEvent.objects.filter(event_type="case.searched").exists()


# --- Continuing a case ---------------------------------------------------------------------


def test_another_clerk_opens_the_case_page_and_the_opening_is_recorded(
    client, hall, submitted_case
):
    case, number = submitted_case
    other = make_staff(Role.CLERK)
    sign_in(client, other)
    response = client.get(f"/counter/cases/{case.pk}/")
    assert response.status_code == 200 and number not in response.content.decode()
    assert AuditEvent.objects.filter(
        event_type="personal_data.case_opened", actor=other, object_id=str(case.pk)
    ).exists()


def test_another_clerk_records_the_promised_materials_and_the_case_goes_on(client, hall, deferred):
    case, promised = deferred
    other = make_staff(Role.CLERK, name="赵敏")
    sign_in(client, other)
    client.post(f"/counter/cases/{case.pk}/supply/", {"materials": [promised.pk]})
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW
    supplied = AuditEvent.objects.get(event_type="case.materials_supplied")
    assert supplied.actor == other and supplied.data["materials"] == [promised.pk]
    history = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "李娜" in history and "赵敏" in history


def test_supplying_nothing_new_is_refused(client, hall, deferred):
    case, _promised = deferred
    sign_in(client, hall.li_na)
    client.post(f"/counter/cases/{case.pk}/supply/", {"materials": [hall.material.pk]})
    assert not AuditEvent.objects.filter(event_type="case.materials_supplied").exists()


def test_another_clerk_corrects_a_returned_case_and_resubmits_it(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    extra = MaterialFactory(item=hall.item, name="委托书", required=False, is_key=False)
    _decide(case, "return", django_capture_on_commit_callbacks)
    third = make_staff(Role.CLERK, name="钱多多")
    new_number = make_id_number(serial=555)
    sign_in(client, third)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/counter/cases/{case.pk}/correct/",
            {"applicant_name": "王大川", "id_number": new_number, "applicant_phone": "13800138000",
             "materials": [hall.material.pk],
             f"scan-{hall.material.pk}": SimpleUploadedFile("x.png", _png(), "image/png")},
        )  # fmt: skip
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.applicant_name, case.applicant_phone) == ("王大川", "13800138000")
    assert case.applicant_id_masked.endswith(new_number[-4:])
    assert CaseDocument.objects.filter(case=case, uploaded_by=third).count() == 1
    corrected = AuditEvent.objects.get(event_type="case.corrected")
    assert corrected.actor == third and new_number not in str(corrected.data)
    assert set(corrected.data["fields"]) == {"applicant_name", "applicant_phone", "id_number"}
    assert extra.pk not in {row["material_id"] for row in case.checklist if row["received"]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/counter/cases/{case.pk}/resubmit/")
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW and case.review_round == 2
    resubmitted = AuditEvent.objects.filter(
        event_type="case.status_changed", data__from="returned"
    ).get()
    assert resubmitted.actor == third
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "李娜" in page and "钱多多" in page


def test_a_refused_correction_shows_what_was_typed_again(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    _decide(case, "return", django_capture_on_commit_callbacks)
    sign_in(client, make_staff(Role.CLERK))
    response = client.post(
        f"/counter/cases/{case.pk}/correct/",
        {"applicant_name": "王大川", "id_number": "51138119800517001", "materials": []},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="王大川"' in page and 'value="51138119800517001"' in page
    case.refresh_from_db()
    assert case.applicant_name == "王大山"


def test_a_case_that_is_not_returned_cannot_be_corrected(client, hall, submitted_case):
    case, _number = submitted_case
    sign_in(client, make_staff(Role.CLERK))
    client.post(f"/counter/cases/{case.pk}/correct/", {"applicant_name": "王大川"})
    case.refresh_from_db()
    assert case.applicant_name == "王大山"
    assert not AuditEvent.objects.filter(event_type="case.corrected").exists()


def test_a_returned_case_is_resubmitted_only_once_per_return_whoever_tries(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    _decide(case, "return", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=make_staff(Role.CLERK), case_id=case.pk)
    sign_in(client, hall.li_na)
    client.post(f"/counter/cases/{case.pk}/resubmit/")
    case.refresh_from_db()
    assert case.review_round == 2 and case.tasks.count() == 2


def test_a_clerk_who_corrected_a_case_is_left_out_of_its_draws(
    hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    _decide(case, "return", django_capture_on_commit_callbacks)
    # A clerk who also reviews: having corrected the case, they may not review it.
    both = make_staff([Role.CLERK, Role.REVIEWER], review_level=3)
    case_services.case_correct(
        clerk=both, case_id=case.pk, applicant_name="王大川", applicant_phone="",
        received_material_ids={hall.material.pk},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=both, case_id=case.pk)
    task = case.tasks.get(review_round=2)
    _pool, excluded = review_pool(task=task)
    assert {"user": both.pk, "reason": "handling_clerk"} in excluded


def test_a_clerk_who_resubmits_a_case_is_left_out_of_the_draw_made_as_they_do(
    hall, submitted_case, django_capture_on_commit_callbacks
):
    # The resubmission's event is not written yet when the first step is drawn in the
    # same transaction (langzhong_si.batch): the pool must see it all the same.
    case, _number = submitted_case
    _decide(case, "return", django_capture_on_commit_callbacks)
    both = make_staff([Role.CLERK, Role.REVIEWER], review_level=3)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=both, case_id=case.pk)
    task = case.tasks.get(review_round=2, step=1)
    assert {"user": both.pk, "reason": "handling_clerk"} in task.draw.excluded


def test_a_clerk_may_not_continue_their_own_application(
    client, hall, deferred, django_capture_on_commit_callbacks
):
    from risk.services import recusal_own_id_record

    case, promised = deferred
    clerk = make_staff(Role.CLERK)
    own = make_id_number(serial=777)
    recusal_own_id_record(user=clerk, password="Demo-pass-123", id_number=own)
    with pytest.raises(case_services.CaseRecused):
        case_services.case_materials_supplied(
            clerk=clerk,
            case_id=_accept(hall, django_capture_on_commit_callbacks, defer=True, number=own).pk,
            material_ids={promised.pk},
        )
    sign_in(client, clerk)
    mine = Case.objects.get(applicant_id_masked__endswith=own[-4:])
    page = client.get(f"/counter/cases/{mine.pk}/").content.decode()
    assert 'data-testid="recused"' in page
    supply_form = page.split('data-testid="supply-form"')[1].split("</form>")[0]
    assert " disabled>" in supply_form and "<button" not in supply_form
    assert client.get(f"/counter/cases/{mine.pk}/receipt/").status_code == 302


def test_the_clerks_case_page_never_names_the_reviewer(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    task = _decide(case, "return", django_capture_on_commit_callbacks)
    sign_in(client, make_staff(Role.CLERK))
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "身份证复印件不清晰" in page
    profile = task.assignee.staff_profile
    for trace in (profile.display_name, profile.employee_number, task.assignee.username):
        assert trace not in page


# --- Returns and rejections reach the counter -----------------------------------------------


def test_a_return_notifies_the_handling_clerk_and_their_window_lead(
    hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    lead = make_staff(Role.WINDOW_LEAD, window_team=hall.window.zone)
    elsewhere = make_staff(Role.WINDOW_LEAD, window_team="后台区")
    task = _decide(case, "return", django_capture_on_commit_callbacks)
    notices = Notification.objects.filter(dedupe_key__startswith="case-return")
    assert {n.recipient for n in notices} == {hall.li_na, lead}
    assert not Notification.objects.filter(recipient=elsewhere).exists()
    notice = notices.get(recipient=hall.li_na)
    assert case.number in notice.message and "身份证复印件不清晰" in notice.message
    assert notice.link == f"/counter/cases/{case.pk}/"
    assert task.assignee.staff_profile.display_name not in notice.message


def test_a_rejection_notifies_the_clerk_who_resubmitted_it_too(
    hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    _decide(case, "return", django_capture_on_commit_callbacks)
    third = make_staff(Role.CLERK)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_resubmit(clerk=third, case_id=case.pk)
    _decide(case, "reject", django_capture_on_commit_callbacks, comment="不符合申领条件")
    rejected = Notification.objects.filter(dedupe_key__startswith="case-reject")
    assert {n.recipient for n in rejected} == {hall.li_na, third}
    assert all("不符合申领条件" in n.message for n in rejected)


def test_the_clerks_case_page_shows_the_rejection_reason(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    _decide(case, "reject", django_capture_on_commit_callbacks, comment="不符合申领条件")
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert 'data-testid="rejection-reason"' in page and "不符合申领条件" in page


def test_the_window_lead_opens_the_case_from_the_notification(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    lead = make_staff(Role.WINDOW_LEAD, window_team=hall.window.zone)
    _decide(case, "return", django_capture_on_commit_callbacks)
    sign_in(client, lead)
    notice = Notification.objects.get(recipient=lead)
    page = client.get(notice.link).content.decode()
    assert "身份证复印件不清晰" in page and 'data-testid="correction-form"' not in page


def test_the_unread_badge_counts_a_return(
    client, hall, submitted_case, django_capture_on_commit_callbacks
):
    case, _number = submitted_case
    _decide(case, "return", django_capture_on_commit_callbacks)
    sign_in(client, hall.li_na)
    page = client.get("/counter/").content.decode()
    badge = page.split('data-testid="notification-badge"')[1][:200]
    assert "text-bg-warning" in badge and ">1<" in badge


def test_a_level_0_item_needs_no_reviewer_to_be_notified(hall, django_capture_on_commit_callbacks):
    item = ItemFactory(risk_level=0, promised_days=0, statutory_days=0)
    MaterialFactory(item=item, name="居民身份证")
    _accept(
        hall,
        django_capture_on_commit_callbacks,
        item=item,
        received=set(item.materials.values_list("pk", flat=True)),
    )
    assert not Notification.objects.filter(dedupe_key__startswith="case-").exists()


def test_cases_from_before_the_search_get_their_id_ending_digest_when_migrating(
    client, hall, submitted_case
):
    import importlib

    from django.apps import apps

    from audit.bulk import bulk_writes_allowed

    case, number = submitted_case
    unreadable = Case.objects.get(pk=case.pk)
    unreadable.pk, unreadable.number = None, "2099010100009"
    unreadable.applicant_id_encrypted, unreadable.intake_token = "not a token", ""
    unreadable.save()
    with bulk_writes_allowed():
        Case.objects.update(applicant_id_tail_digest="")
    migration = importlib.import_module("counters.migrations.0011_case_search_and_intake_token")
    with bulk_writes_allowed():  # a migration's historical model has a plain manager
        migration.tail_digests_fill(apps, None)
    sign_in(client, make_staff(Role.CLERK))
    page = client.get("/counter/cases/", {"q": number[-5:]}).content.decode()
    assert f"/counter/cases/{case.pk}/" in page
    assert Case.objects.get(number="2099010100009").applicant_id_tail_digest == ""

"""Policies, qualifications, availability, relatives, notifications and time limits."""

import datetime
import json
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from audit.services import audit_event_record
from cases import services as case_services
from counters import services as counter_services
from counters.models import Case, SmsMessage
from inbox import services as inbox_services
from langzhong_si.batch import audit_writes_batched
from langzhong_si.calendar import working_hours_after
from outbox.models import OutboxMessage
from risk import services
from risk.models import ItemRiskPolicy, Qualification, ReviewTask, RiskPolicy
from risk.selectors import review_pool, review_pool_scoped
from staff.models import Notification
from staff.roles import Role
from tests.factories import (
    ItemFactory,
    MaterialFactory,
    as_if_awaiting_its_draw,
    make_id_number,
    make_staff,
    sign_in,
)

pytestmark = pytest.mark.django_db


def _submit(hall, capture, *, item=None, id_number=None, phone=""):
    item = item or hall.item
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=item)
    with capture(execute=False):
        return case_services.case_accept(
            clerk=hall.li_na,
            item_id=item.pk,
            applicant_name="王大山",
            id_number=id_number or make_id_number(),
            received_material_ids=set(item.materials.values_list("pk", flat=True)),
            applicant_phone=phone,
        )


def test_a_case_takes_its_chain_from_the_level_policy(hall, django_capture_on_commit_callbacks):
    RiskPolicy.objects.update_or_create(
        level=2, defaults={"steps": ["review", "approval"], "step_hours": 6}
    )
    case = _submit(hall, django_capture_on_commit_callbacks)
    assert (case.review_chain, case.step_hours) == (["review", "approval"], 6)


def test_an_item_override_adds_a_second_approval(hall, django_capture_on_commit_callbacks):
    ItemRiskPolicy.objects.create(item=hall.item, steps=["review", "approval", "second_approval"])
    case = _submit(hall, django_capture_on_commit_callbacks)
    assert case.review_chain == ["review", "approval", "second_approval"]


def test_a_policy_edit_never_changes_a_running_case(hall, django_capture_on_commit_callbacks):
    case = _submit(hall, django_capture_on_commit_callbacks)
    RiskPolicy.objects.update_or_create(level=2, defaults={"steps": ["review"]})
    case.refresh_from_db()
    assert case.review_chain == ["review", "approval"]


@pytest.mark.parametrize(
    ("level", "steps"),
    [(2, ["approval"]), (1, []), (3, ["review", "second_approval"]), (2, ["review", "review"])],
)
def test_malformed_chains_are_refused(level, steps):
    with pytest.raises(ValidationError):
        services.risk_chain_validate(level=level, steps=steps)


def test_the_step_limit_counts_office_hours_only():
    tz = timezone.get_current_timezone()
    friday_afternoon = datetime.datetime(2026, 11, 27, 16, 30, tzinfo=tz)
    # 1 hour on Friday, then Monday 08:30 + 3 hours.
    assert working_hours_after(friday_afternoon, 4) == datetime.datetime(
        2026, 11, 30, 11, 30, tzinfo=tz
    )


def test_the_step_limit_skips_the_national_day_holiday():
    tz = timezone.get_current_timezone()
    start = datetime.datetime(2026, 9, 30, 16, 0, tzinfo=tz)
    assert working_hours_after(start, 4).date() == datetime.date(2026, 10, 8)


def test_an_expired_qualification_leaves_a_person_out(hall, django_capture_on_commit_callbacks):
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou, kind="review").update(
            valid_from=timezone.localdate() - datetime.timedelta(days=30),
            valid_to=timezone.localdate() - datetime.timedelta(days=1),
        )
    case = _submit(hall, django_capture_on_commit_callbacks)
    pool, excluded = review_pool(task=case.tasks.get())
    assert pool == []
    assert {"user": hall.zhou.pk, "reason": "not_qualified"} in excluded


def test_a_declared_relative_of_the_applicant_is_recused(hall, django_capture_on_commit_callbacks):
    number = make_id_number()
    services.recusal_relative_add(
        user=hall.zhou, password="Demo-pass-123", id_number=number, relation="spouse"
    )
    case = _submit(hall, django_capture_on_commit_callbacks, id_number=number)
    pool, excluded = review_pool(task=case.tasks.get())
    assert {"user": hall.zhou.pk, "reason": "relative"} in excluded
    assert hall.zhou.pk not in pool


def test_a_person_on_leave_is_left_out(hall, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    services.leave_record(user=hall.zhou, start=today, end=today, reason="年休假")
    case = _submit(hall, django_capture_on_commit_callbacks)
    assert {"user": hall.zhou.pk, "reason": "on_leave"} in review_pool(task=case.tasks.get())[1]


def test_a_person_at_the_open_task_cap_is_left_out(
    hall, settings, django_capture_on_commit_callbacks
):
    settings.REVIEW_OPEN_TASK_CAP = 1
    first = _submit(hall, django_capture_on_commit_callbacks)
    services.review_task_draw(task_id=first.tasks.get().pk)
    counter_services.ticket_finish(clerk=hall.li_na)
    second = _submit(hall, django_capture_on_commit_callbacks)
    assert {"user": hall.zhou.pk, "reason": "over_cap"} in review_pool(task=second.tasks.get())[1]


def test_nobody_grants_themselves_a_qualification(hall):
    lead = make_staff(Role.TEAM_LEAD)
    with pytest.raises(PermissionDenied):
        services.qualification_grant(user=lead, kind="review", level=3, reason="x", granted_by=lead)
    with pytest.raises(PermissionDenied):
        services.qualification_grant(
            user=hall.sun, kind="review", level=3, reason="x", granted_by=hall.ma
        )
    grant = services.qualification_grant(
        user=hall.sun, kind="review", level=2, reason="考核合格", granted_by=lead
    )
    assert (grant.granted_by, grant.history.count()) == (lead, 1)


def test_an_empty_pool_alerts_the_team_lead_and_a_new_grant_draws_the_case(
    hall, django_capture_on_commit_callbacks
):
    lead = make_staff(Role.TEAM_LEAD)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou).delete()
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    assert task.status == ReviewTask.Status.AWAITING_DRAW
    assert (
        Notification.objects.filter(recipient=lead, dedupe_key__startswith="pool-empty").count()
        == 1
    )
    services.review_task_draw(task_id=task.pk)  # a retry does not alert twice
    assert Notification.objects.filter(recipient=lead).count() == 1

    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        ReviewTask.objects.filter(pk=task.pk).update(
            created_at=timezone.now() - datetime.timedelta(minutes=5)
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.qualification_grant(
            user=hall.sun, kind="review", level=2, reason="补充", granted_by=lead
        )
    task.refresh_from_db()
    assert task.assignee == hall.sun


def test_the_drawn_person_is_notified_once(hall, django_capture_on_commit_callbacks):
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    services.review_task_draw(task_id=task.pk)
    assert Notification.objects.filter(recipient=hall.zhou).count() == 1


def test_a_step_past_its_limit_is_redrawn_without_the_absent_person(
    hall, django_capture_on_commit_callbacks
):
    other = make_staff(Role.REVIEWER, review_level=3)
    case = _submit(hall, django_capture_on_commit_callbacks)
    first = services.review_task_draw(task_id=case.tasks.get().pk)
    later = first.due_at + datetime.timedelta(minutes=1)
    with (
        mock.patch("django.utils.timezone.now", return_value=later),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.review_tasks_redraw_overdue() == 1
    first.refresh_from_db()
    second = case.tasks.get(attempt=2)
    assert first.status == ReviewTask.Status.EXPIRED
    assert second.assignee not in (None, first.assignee)
    assert {"user": first.assignee_id, "reason": "absent_earlier"} in second.draw.excluded
    del other


def test_a_warning_comes_once_before_the_limit(hall, settings, django_capture_on_commit_callbacks):
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    near = task.due_at - datetime.timedelta(minutes=settings.REVIEW_WARN_MINUTES - 5)
    with mock.patch("django.utils.timezone.now", return_value=near):
        services.review_tasks_warn_due_soon()
        services.review_tasks_warn_due_soon()
    assert Notification.objects.filter(dedupe_key=f"task-due-soon:{task.pk}").count() == 1


def test_a_rejection_is_texted_to_the_applicant_exactly_once(
    hall, django_capture_on_commit_callbacks, caplog
):
    case = _submit(hall, django_capture_on_commit_callbacks, phone="13800001111")
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    with (
        caplog.at_level("INFO", logger="langzhong_si.sms"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        inbox_services.review_task_decide(
            task_id=task.pk, actor=hall.zhou, decision="reject", comment="不符合条件"
        )
    message = SmsMessage.objects.get(case=case)
    assert message.sent_at is not None and "不符合条件" in message.text
    from inbox.notices import sms_message_send

    assert sms_message_send(message_id=message.pk) is False, "a repeated message sends nothing"
    assert "13800001111" not in caplog.text, "logs carry the number masked"
    assert Case.objects.get(pk=case.pk).status == Case.Status.REJECTED


def test_the_inbox_api_shows_the_case_without_other_chain_members(
    hall, client, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)
    review = services.review_task_draw(task_id=case.tasks.get().pk)
    with django_capture_on_commit_callbacks(execute=True):
        inbox_services.review_task_decide(
            task_id=review.pk, actor=hall.zhou, decision="approve", comment="材料齐全"
        )
    approval = case.tasks.get(step=2)
    sign_in(client, approval.assignee)
    listing = client.get("/api/inbox/tasks/")
    detail = client.get(f"/api/inbox/tasks/{approval.pk}/")
    body = json.dumps([listing.json(), detail.json()], ensure_ascii=False)
    for person in (hall.li_na, hall.zhou):
        for clue in (person.username, person.staff_profile.display_name,
                     person.staff_profile.employee_number):  # fmt: skip
            assert clue not in body
    assert not {"handler", "assignee", "user", "chosen"} & set(detail.json())
    assert [step["role"] for step in detail.json()["earlier_steps"]] == ["handle", "review"]
    assert detail.json()["earlier_steps"][1]["comment"] == "材料齐全"


APPROVE, JSON = {"decision": "approve"}, "application/json"


def test_every_decision_endpoint_refuses_everyone_but_the_drawn_person(
    hall, client, django_user_model, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    root = django_user_model.objects.create_superuser("root2", password="x")
    for intruder in (hall.li_na, hall.ma, hall.sun, root):
        sign_in(client, intruder)
        api = client.post(f"/api/inbox/tasks/{task.pk}/decision/", APPROVE, content_type=JSON)
        page = client.post(f"/inbox/tasks/{task.pk}/decide/", {"decision": "approve"})
        assert api.status_code in (403, 404) and page.status_code in (403, 404)
    task.refresh_from_db()
    assert task.status == ReviewTask.Status.OPEN
    sign_in(client, hall.zhou)
    assert (
        client.post(f"/api/inbox/tasks/{task.pk}/decision/", APPROVE, content_type=JSON).status_code
        == 200
    )
    again = client.post(f"/api/inbox/tasks/{task.pk}/decision/", APPROVE, content_type=JSON)
    assert again.status_code == 409, "a double click changes nothing"


def test_the_decisions_answer_shows_the_task_as_decided(
    hall, client, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    sign_in(client, task.assignee)
    answer = client.post(
        f"/api/inbox/tasks/{task.pk}/decision/",
        {"decision": "return", "comment": "缺少身份证复印件"},
        content_type=JSON,
    ).json()
    assert (
        answer["status"]
        == ReviewTask.Status.RETURNED
        == task.__class__.objects.get(pk=task.pk).status
    )
    assert (answer["id"], answer["case_number"], answer["item"]) == (
        task.pk, case.number, case.item.name,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("case.materials_supplied", {}),
        ("case.corrected", {}),
        ("case.status_changed", {"from": "returned", "to": "in_review"}),
    ],
)
def test_a_clerk_whose_event_on_the_case_is_not_written_yet_is_still_left_out(
    hall, django_capture_on_commit_callbacks, kind, data
):
    # Events wait in their transaction's batch (langzhong_si.batch); the pool must see them.
    case = _submit(hall, django_capture_on_commit_callbacks)
    both = make_staff([Role.CLERK, Role.REVIEWER], review_level=3)
    with transaction.atomic(), audit_writes_batched():
        audit_event_record(event_type=kind, actor=both, obj=case, data=data)
        _pool, excluded, _scope = review_pool_scoped(task=case.tasks.get())
    assert {"user": both.pk, "reason": "handling_clerk"} in excluded


def test_a_new_item_without_policy_uses_the_domain_default(
    hall, django_capture_on_commit_callbacks
):
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        RiskPolicy.objects.all().delete()
    item = ItemFactory(risk_level=3)
    MaterialFactory(item=item)
    case = _submit(hall, django_capture_on_commit_callbacks, item=item)
    assert case.review_chain == ["review", "approval", "second_approval"]


def test_the_clerk_sees_awaiting_and_return_reasons_but_no_names(
    hall, client, django_capture_on_commit_callbacks
):
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou).update(revoked_at=timezone.now())
    case = _submit(hall, django_capture_on_commit_callbacks)
    services.review_task_draw(task_id=case.tasks.get().pk)
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert 'data-testid="case-progress"' in page and "总负责人" in page

    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.filter(user=hall.zhou).update(revoked_at=None)
    task = services.review_task_draw(task_id=case.tasks.get().pk)
    with django_capture_on_commit_callbacks(execute=True):
        inbox_services.review_task_decide(
            task_id=task.pk, actor=hall.zhou, decision="return", comment="缺少签字"
        )
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "缺少签字" in page
    assert "周建国" not in page and hall.zhou.username not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/counter/cases/{case.pk}/resubmit/")
    case.refresh_from_db()
    assert (case.status, case.review_round) == (Case.Status.IN_REVIEW, 2)
    again = case.tasks.get(review_round=2)
    assert again.assignee == hall.zhou, "the correction goes back to the reviewer who returned it"


def test_the_intake_draws_the_reviewer_itself_with_no_worker_running(
    hall, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)  # nothing after commit runs
    task = case.tasks.get()
    assert task.status == ReviewTask.Status.OPEN and task.assignee is not None
    assert task.draw.subject == f"review-task:{task.pk}"
    assert not OutboxMessage.objects.filter(task_name=services.REVIEW_DRAW_TASK).exists()


def test_a_case_whose_draw_message_from_an_earlier_release_is_on_its_way_says_so_and_alarms_nobody(
    hall, client, django_capture_on_commit_callbacks
):
    case = _submit(hall, django_capture_on_commit_callbacks)
    as_if_awaiting_its_draw(case)
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "正在抽取审核人" in page and "总负责人" not in page

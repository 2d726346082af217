"""The team lead edits risk policies in the admin with a form: ordered steps chosen from the
roles (not JSON), a limit in office hours, clear refusals, saved through the audited save
with its reason."""

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from risk.models import ItemRiskPolicy, RiskPolicy
from staff.roles import Role
from tests.factories import ItemFactory, make_staff, sign_in

pytestmark = pytest.mark.django_db

REASON = "省厅文件要求增加复核审批"


@pytest.fixture
def lead(client):
    user = make_staff(Role.TEAM_LEAD, name="何志明")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    # What seed_demo grants the team lead's group for the admin.
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_riskpolicy", "change_riskpolicy", "view_itemriskpolicy",
                          "add_itemriskpolicy", "change_itemriskpolicy", "view_serviceitem"]
        )
    )  # fmt: skip
    sign_in(client, user)
    return user


def _policy(level: int) -> RiskPolicy:
    return RiskPolicy.objects.get(level=level)


def _post(client, policy, **fields):
    data = {"level": policy.level, "step_hours": 4, "change_reason": REASON,
            "review_scope": policy.review_scope, "approval_scope": policy.approval_scope,
            **fields}  # fmt: skip
    return client.post(f"/admin/risk/riskpolicy/{policy.pk}/change/", data)


def _errors(response) -> str:
    return " ".join(
        str(message) for messages in response.context["adminform"].form.errors.values()
        for message in messages
    )  # fmt: skip


def test_the_policy_form_offers_the_steps_as_choices_in_order_not_json(client, lead):
    page = client.get(f"/admin/risk/riskpolicy/{_policy(2).pk}/change/").content.decode()
    assert "<textarea" not in page and '["review"' not in page
    for number in (1, 2, 3):
        assert f'name="step_{number}"' in page and f"经办后第 {number} 环节" in page
    assert '<option value="review" selected>审核</option>' in page
    assert '<option value="approval" selected>审批</option>' in page
    assert '<option value="second_approval">复核审批</option>' in page
    assert "工作小时" in page


def test_the_team_lead_saves_a_chain_chosen_from_the_list_with_a_reason_and_an_event(client, lead):
    policy = _policy(2)
    response = _post(
        client, policy, step_1="review", step_2="approval", step_3="second_approval", step_hours=6
    )
    assert response.status_code == 302, _errors(response)
    policy.refresh_from_db()
    assert (policy.steps, policy.step_hours) == (["review", "approval", "second_approval"], 6)
    event = AuditEvent.objects.filter(event_type="record.edited", object_id=str(policy.pk)).get()
    assert (event.actor, event.data["reason"]) == (lead, REASON)
    assert policy.history.first().history_change_reason == REASON


def test_a_gap_between_steps_is_refused_with_a_clear_message(client, lead):
    response = _post(client, _policy(2), step_1="review", step_2="", step_3="approval")
    assert response.status_code == 200
    assert "不得跳空" in _errors(response)
    assert _policy(2).steps == ["review", "approval"]


def test_steps_out_of_order_are_refused_in_words_not_brackets(client, lead):
    response = _post(client, _policy(2), step_1="approval", step_2="review")
    assert "审核，然后审批，然后复核审批" in _errors(response)
    assert "[" not in _errors(response)


def test_a_level_1_policy_without_steps_is_refused(client, lead):
    response = _post(client, _policy(1))
    assert "至少" in _errors(response)  # "a level 1–3 item needs at least a review"


@pytest.mark.parametrize("hours", [0, 36])
def test_a_step_limit_outside_1_to_35_office_hours_is_refused_with_a_message(client, lead, hours):
    response = _post(client, _policy(1), step_1="review", step_hours=hours)
    assert response.status_code == 200 and "step_hours" in response.context["adminform"].form.errors
    assert "Constraint" not in _errors(response)


def test_the_policy_list_shows_each_chain_as_role_names(client, lead):
    page = client.get("/admin/risk/riskpolicy/").content.decode()
    assert "审核 → 审批 → 复核审批" in page and "second_approval" not in page


def test_an_item_override_is_added_with_the_same_form(client, lead):
    item = ItemFactory(risk_level=2)
    response = client.post(
        "/admin/risk/itemriskpolicy/add/",
        {
            "item": item.pk,
            "step_1": "review",
            "step_2": "approval",
            "step_3": "second_approval",
            "step_hours": 8,
            "review_scope": "hall",
            "approval_scope": "hall",
            "change_reason": REASON,
        },
    )
    assert response.status_code == 302
    override = ItemRiskPolicy.objects.get(item=item)
    assert override.steps == ["review", "approval", "second_approval"]
    assert AuditEvent.objects.filter(event_type="record.edited", object_id=str(override.pk))


def test_changing_where_a_steps_pool_comes_from_in_the_admin_is_an_audit_event(client, lead):
    policy = _policy(2)
    response = _post(client, policy, step_1="review", step_2="approval", review_scope="agency")
    assert response.status_code == 302
    event = AuditEvent.objects.get(event_type="risk_policy.scope_changed")
    assert event.actor == lead and event.data["reason"] == REASON
    assert event.data["before"]["review_scope"] == "hall"
    assert event.data["after"]["review_scope"] == "agency"
    assert _policy(2).review_scope == "agency"

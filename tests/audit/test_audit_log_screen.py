"""The audit administrator's log screen (and its API): each event's translated label,
actor, target and details with personal data masked, filtered by kind, person and dates;
a failed sign-in says which account was tried."""

import datetime
import re

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_event_record
from counters.models import Window
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    user = make_staff(Role.AUDIT_ADMINISTRATOR, name="严审计")
    sign_in(client, user)
    return user


def _row(page: str, event: AuditEvent) -> str:
    match = re.search(rf'<tr data-testid="event-{event.pk}">(.*?)</tr>', page, re.S)
    assert match, f"event {event.pk} is not on the page"
    return match.group(1)


def _keys(page: str) -> set[int]:
    return {int(number) for number in re.findall(r'data-testid="event-(\d+)"', page)}


def test_the_audit_log_shows_label_actor_target_and_details(client, reader):
    lead = make_staff(Role.TEAM_LEAD, name="何志明")
    clerk = make_staff(Role.CLERK, name="李娜")
    event = audit_event_record(
        event_type="role.granted", actor=lead, obj=clerk, data={"role": "clerk"}
    )
    row = _row(client.get("/audit/log/").content.decode(), event)
    assert "何志明" in row  # actor
    assert "授予角色" in row  # the kind's label
    assert "role.granted" not in row
    assert f"李娜 ({clerk.username})" in row  # target: the person, not auth.user 7
    assert "角色:" in row and "clerk" in row  # details


def test_the_audit_log_shows_coded_values_as_their_labels(client, reader):
    window = Window.objects.create(number=7, queue="A")
    event = audit_event_record(
        event_type="window.ready",
        obj=window,
        data={"from": "offline", "to": "ready", "fields": ["applicant_name", "checklist"]},
    )
    row = _row(client.get("/audit/log/").content.decode(), event)
    assert "离线" in row and "offline" not in row
    assert "申请人姓名、申请材料" in row and "applicant_name" not in row


def test_a_failed_sign_in_names_the_account_that_was_tried(client, reader):
    clerk = make_staff(Role.CLERK, name="李娜")
    client.post("/login/", {"username": clerk.username, "password": "Wrong-pass-1"})
    sign_in(client, reader)
    event = AuditEvent.objects.get(event_type="auth.sign_in_failed")
    assert event.data == {"username": clerk.username, "account_exists": True}
    row = _row(client.get("/audit/log/").content.decode(), event)
    assert "登录失败" in row and clerk.username in row and "李娜" in row
    assert "Wrong-pass-1" not in str(event.data)


def test_a_failed_sign_in_for_no_account_keeps_only_two_characters_of_what_was_typed(
    client, reader
):
    client.post("/login/", {"username": "Tr0ub4dor&3", "password": "whatever-1"})
    event = AuditEvent.objects.get(event_type="auth.sign_in_failed")
    assert event.data == {"username": "Tr" + "*" * 8, "account_exists": False}
    assert "Tr0ub4dor" not in client.get("/audit/log/").content.decode()


def test_the_audit_log_masks_id_and_mobile_numbers_in_details(client, reader):
    event = audit_event_record(
        event_type="record.edited",
        actor=make_staff(Role.TEAM_LEAD),
        data={"reason": "申请人 11010519491231002X 电话 13812345678 要求更正"},
    )
    row = _row(client.get("/audit/log/").content.decode(), event)
    assert "11010519491231002X" not in row and "110105********002X" in row
    assert "13812345678" not in row and "138****5678" in row


def test_the_audit_log_filters_by_kind(client, reader):
    clerk = make_staff(Role.CLERK)
    paused = audit_event_record(event_type="window.paused", actor=clerk)
    granted = audit_event_record(event_type="role.granted", actor=reader, obj=clerk)
    page = client.get("/audit/log/", {"type": "window.paused"}).content.decode()
    assert paused.pk in _keys(page) and granted.pk not in _keys(page)
    assert '<option value="window.paused" selected>' in page


def test_the_audit_log_filters_by_person_as_actor_target_or_account_tried(client, reader):
    clerk = make_staff(Role.CLERK, name="李娜")
    other = make_staff(Role.CLERK, name="王芳")
    acted = audit_event_record(event_type="window.paused", actor=clerk)
    targeted = audit_event_record(event_type="role.granted", actor=reader, obj=clerk)
    unrelated = audit_event_record(event_type="window.paused", actor=other)
    client.post("/login/", {"username": clerk.username, "password": "Wrong-pass-1"})
    sign_in(client, reader)
    tried = AuditEvent.objects.get(event_type="auth.sign_in_failed")
    for person in (clerk.username, "李娜"):
        shown = _keys(client.get("/audit/log/", {"person": person}).content.decode())
        assert {acted.pk, targeted.pk, tried.pk} <= shown
        assert unrelated.pk not in shown


def test_the_audit_log_filters_by_date_range(client, reader, monkeypatch):
    ten_days_ago = timezone.now() - datetime.timedelta(days=10)
    with monkeypatch.context() as clock:  # the log is append-only: recorded in the past
        clock.setattr("audit.services.timezone.now", lambda: ten_days_ago)
        old = audit_event_record(event_type="window.paused", actor=reader)
    recent = audit_event_record(event_type="window.paused", actor=reader)
    today = timezone.localdate()
    since = today - datetime.timedelta(days=2)
    page = client.get("/audit/log/", {"from": f"{since}", "to": f"{today}"}).content.decode()
    assert recent.pk in _keys(page) and old.pk not in _keys(page)


def test_an_out_of_range_date_in_the_audit_log_filter_is_refused_with_a_message(client, reader):
    response = client.get("/audit/log/", {"from": "9999-12-31"})
    assert response.status_code == 200
    assert any("2000-01-01" in str(message) for message in response.context["messages"])


def test_two_wrong_dates_in_the_audit_log_filter_each_name_their_field(client, reader):
    response = client.get("/audit/log/", {"from": "9999-12-30", "to": "9999-12-31"})
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == len(set(shown)) == 2
    assert shown[0].startswith("自") and shown[1].startswith("至")


def test_the_audit_log_api_filters_and_answers_400_for_a_bad_date(client, reader):
    clerk = make_staff(Role.CLERK)
    paused = audit_event_record(event_type="window.paused", actor=clerk)
    response = client.get("/api/audit/log/", {"person": clerk.username})
    events = response.json()
    assert paused.pk in [row["key"] for row in events]
    assert "audit.log_read" not in {row["event_type"] for row in events}  # the reader's own
    bad = client.get("/api/audit/log/", {"to": "0001-01-01"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "date_range"


def test_a_refused_use_of_power_reads_as_what_was_tried_and_why(client, reader):
    from audit.refusals import refusal_record

    security = make_staff(Role.SECURITY_ADMINISTRATOR, name="钱安全")
    clerk = make_staff(Role.CLERK, name="李娜")
    refusal_record(actor=security, action="role_grant", reason="role_not_held", target=clerk)
    event = AuditEvent.objects.get(event_type="power.refused")
    row = _row(client.get("/audit/log/").content.decode(), event)
    assert "越权操作被拒绝" in row and "钱安全" in row and f"李娜 ({clerk.username})" in row
    assert "所试操作:" in row and "授予角色" in row and "不具备相应角色" in row
    assert "role_grant" not in row and "role_not_held" not in row

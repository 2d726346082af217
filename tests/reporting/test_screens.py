"""The team lead's reporting page (the day's reconciliation and the dead letters, each
with a resend) and the reconciliation command."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from reporting.models import Delivery
from staff.roles import Role
from tests.factories import make_staff, sign_in
from tests.reporting.test_delivery import _rated

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_letter(reporting_http, hall, coded_item, django_capture_on_commit_callbacks):
    reporting_http.mode = "refuse"
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    reporting_http.mode = "accept"
    return Delivery.objects.get()


def _row(html: str, kind: str) -> list[str]:
    row = html.split(f'data-kind="{kind}"')[1].split("</tr>")[0]
    return [cell.split(">")[-1] for cell in row.split("</td>")[:-1]]


def test_the_team_lead_sees_the_days_reconciliation_and_the_dead_letters(client, lead, dead_letter):
    sign_in(client, lead)
    html = client.get(reverse("reporting:overview")).content.decode()
    # Events, not recorded, sent, acknowledged, failed, waiting.
    assert _row(html, "rating")[2:] == ["1", "0", "0", "0", "1", "0"]
    assert dead_letter.key in html


def test_the_team_lead_resends_a_dead_letter_with_a_reason_recorded(
    client, lead, dead_letter, reporting_http, django_capture_on_commit_callbacks
):
    sign_in(client, lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reporting:resend"),
            {"delivery": dead_letter.pk, "reason": "实施清单编码已更正"},
        )
    assert response.status_code == 302
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.attempts) == (Delivery.Status.ACKNOWLEDGED, 2)
    event = AuditEvent.objects.get(event_type="reporting.resent")
    assert (event.actor_id, event.object_id) == (lead.pk, str(dead_letter.pk))
    assert event.data["reason"] == "实施清单编码已更正"
    assert {request["key"] for request in reporting_http.requests} == {dead_letter.key}


def test_a_resend_without_a_reason_or_of_a_delivered_report_changes_nothing(
    client, lead, dead_letter
):
    sign_in(client, lead)
    client.post(reverse("reporting:resend"), {"delivery": dead_letter.pk, "reason": " "})
    dead_letter.refresh_from_db()
    assert dead_letter.status == Delivery.Status.DEAD
    Delivery.objects.filter(pk=dead_letter.pk).update(status=Delivery.Status.ACKNOWLEDGED)
    client.post(reverse("reporting:resend"), {"delivery": dead_letter.pk, "reason": "again"})
    assert not AuditEvent.objects.filter(event_type="reporting.resent").exists()


def test_nobody_but_the_team_lead_resends(client, dead_letter):
    sign_in(client, make_staff(Role.CLERK))
    response = client.post(reverse("reporting:resend"), {"delivery": dead_letter.pk, "reason": "x"})
    assert response.status_code == 403
    assert Delivery.objects.get().status == Delivery.Status.DEAD


def test_the_reconciliation_command_reports_the_day_and_fails_on_a_dead_letter(dead_letter):
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reporting_reconcile", "--json", f"--day={timezone.localdate()}", stdout=out)
    assert exit_.value.code == 1
    report = json.loads(out.getvalue())
    assert report["kinds"]["rating"] == {
        "expected": 1, "not_recorded": 0, "recorded": 1, "sent": 0, "acknowledged": 0,
        "failed": 1, "waiting": 0,
    }  # fmt: skip


def test_the_reconciliation_command_passes_while_reporting_is_off(
    hall, coded_item, django_capture_on_commit_callbacks
):
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    out, err = StringIO(), StringIO()
    call_command(
        "reporting_reconcile", "--json", f"--day={timezone.localdate()}", stdout=out, stderr=err
    )
    assert json.loads(out.getvalue())["kinds"]["rating"]["not_recorded"] == 1
    assert "reporting is off" in err.getvalue()

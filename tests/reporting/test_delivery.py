"""Every rating and every case's acceptance and completion reach the provincial platforms
(here a local HTTP server playing them): signed, acknowledged, retried with backoff when
the platform does not answer, a dead letter when it refuses, resent by the team lead."""

import datetime
import json

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from cases import services as case_services
from counters import services as counter_services
from outbox.models import OutboxMessage
from ratings import services as rating_services
from reporting import services
from reporting.models import Delivery, DeliveryAttempt
from reporting.transports import request_signature
from tests.factories import make_id_number
from tests.reporting.platform import SIGNING_KEY

pytestmark = pytest.mark.django_db
S = Delivery.Status


def _served_ticket(hall, item):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    return counter_services.ticket_issue(item=item)


def _rated(hall, item, capture, level=5, reason=""):
    ticket = _served_ticket(hall, item)
    counter_services.ticket_finish(clerk=hall.li_na)
    with capture(execute=True):
        return rating_services.rating_submit(ticket_id=ticket.pk, level=level, reason=reason)


def _finished_case(hall, item, capture, number=None):
    _served_ticket(hall, item)
    with capture(execute=True):
        return case_services.case_accept(
            clerk=hall.li_na,
            item_id=item.pk,
            applicant_name="王大山",
            id_number=number or make_id_number(),
            received_material_ids=set(item.materials.values_list("pk", flat=True)),
        )


def test_a_rating_reaches_the_platform_signed_and_acknowledged(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    rating = _rated(hall, coded_item, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.object_id, delivery.status) == (
        "rating",
        rating.pk,
        S.ACKNOWLEDGED,
    )
    assert delivery.acknowledged_id == "ACK-1"
    assert delivery.key == f"511381-TEST:rating:{rating.pk}"
    [request] = reporting_http.requests
    assert request["path"] == "/ratings" and request["key"] == delivery.key
    timestamp = request["headers"]["X-Report-Timestamp"]
    signature = request_signature(key=SIGNING_KEY, timestamp=timestamp, body=request["body"])
    assert request["headers"]["X-Report-Signature"] == f"sha256={signature}"
    body = json.loads(request["body"])
    assert body["staff_number"] == hall.li_na.staff_profile.employee_number
    assert body["item"]["business_item_code"] == coded_item.business_item_code
    assert body["rating"]["level_name"] == "非常满意"
    [attempt] = delivery.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.outcome) == (1, 200, "acknowledged")


def test_a_case_is_reported_at_acceptance_and_at_completion_without_the_applicants_identity(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    number = make_id_number()
    case = _finished_case(hall, coded_item, django_capture_on_commit_callbacks, number=number)
    kinds = dict(Delivery.objects.values_list("kind", "status"))
    assert kinds == {"case_accepted": S.ACKNOWLEDGED, "case_completed": S.ACKNOWLEDGED}
    assert {request["path"] for request in reporting_http.requests} == {"/cases"}
    completed = next(json.loads(r["body"]) for r in reporting_http.requests
                     if b"case_completed" in r["body"])  # fmt: skip
    assert completed["case_number"] == case.number
    assert completed["completion"]["result"] == "finished"
    assert completed["applicant"] == {
        "kind": "person",
        "id_number_masked": case.applicant_id_masked,
    }
    for request in reporting_http.requests:
        text = request["body"].decode()
        assert number not in text and "王大山" not in text


def test_a_case_only_notified_is_not_reported(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    _served_ticket(hall, coded_item)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_accept(
            clerk=hall.li_na, item_id=coded_item.pk, applicant_name="王大山",
            id_number=make_id_number(), received_material_ids=set(),
        )  # fmt: skip
    assert not Delivery.objects.exists()
    assert reporting_http.requests == []


def test_a_refused_report_is_a_dead_letter_at_once_without_retries(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    reporting_http.mode = "refuse"
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (S.DEAD, 1, 422)
    assert services.deliveries_retry_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(reporting_http.requests) == 1, "no retry storm"
    event = AuditEvent.objects.get(event_type="reporting.dead_lettered")
    assert event.object_id == str(delivery.pk) and event.data["status_code"] == 422


def test_a_platform_that_does_not_answer_is_retried_with_exponential_backoff(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    reporting_http.mode = "stall"
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    first_try = delivery.next_attempt_at - datetime.timedelta(seconds=30)
    assert (delivery.status, delivery.failures) == (S.RETRYING, 1)
    assert "no answer" in delivery.last_error or "timed out" in delivery.last_error
    assert services.deliveries_retry_due(now=first_try + datetime.timedelta(seconds=29)) == 0
    second_try = first_try + datetime.timedelta(seconds=31)
    assert services.deliveries_retry_due(now=second_try) == 1
    delivery.refresh_from_db()
    assert delivery.status == S.RETRYING
    assert delivery.next_attempt_at == second_try + datetime.timedelta(seconds=60), "doubled"
    reporting_http.mode = "accept"
    assert services.deliveries_retry_due(now=second_try + datetime.timedelta(seconds=61)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.ACKNOWLEDGED, 3)
    bodies = {request["body"] for request in reporting_http.requests}
    keys = {request["key"] for request in reporting_http.requests}
    assert len(reporting_http.requests) == 3 and len(bodies) == 1 and keys == {delivery.key}
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == [
        "retry", "retry", "acknowledged"
    ]  # fmt: skip


def test_a_delivery_that_keeps_failing_becomes_a_dead_letter_after_the_last_attempt(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks, settings
):
    settings.REPORTING_MAX_ATTEMPTS = 2
    reporting_http.mode = "fail"
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    later = timezone.now() + datetime.timedelta(hours=1)
    services.deliveries_retry_due(now=later)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (S.DEAD, 2, 503)


def test_a_delivery_attempted_again_after_its_acknowledgement_sends_nothing(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    key = Delivery.objects.get().key
    assert services.delivery_attempt(key=key) == S.ACKNOWLEDGED
    assert len(reporting_http.requests) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_a_stalled_attempt_is_taken_over_after_its_lease(
    reporting_http, hall, coded_item, django_capture_on_commit_callbacks
):
    reporting_http.mode = "stall"
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    # A worker claimed the delivery and died before recording anything.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=S.SENDING, next_attempt_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    reporting_http.mode = "accept"
    assert services.deliveries_retry_due() == 0, "still within its lease"
    assert services.deliveries_retry_due(now=timezone.now() + datetime.timedelta(minutes=2)) == 1
    assert Delivery.objects.get().status == S.ACKNOWLEDGED


def test_a_rolled_back_rating_records_no_delivery(reporting_http, hall, coded_item):
    ticket = _served_ticket(hall, coded_item)
    counter_services.ticket_finish(clerk=hall.li_na)
    with pytest.raises(RuntimeError), transaction.atomic():
        rating_services.rating_submit(ticket_id=ticket.pk, level=5)
        assert Delivery.objects.count() == 1
        raise RuntimeError
    assert not Delivery.objects.exists()
    assert not OutboxMessage.objects.filter(task_name__startswith="reporting").exists()


def test_with_reporting_off_nothing_is_recorded(
    hall, coded_item, django_capture_on_commit_callbacks
):
    _rated(hall, coded_item, django_capture_on_commit_callbacks)
    assert not Delivery.objects.exists()


def test_the_file_drop_writes_one_json_line_per_report_atomically(
    settings, tmp_path, hall, coded_item, django_capture_on_commit_callbacks
):
    settings.REPORTING_TRANSPORT = "file"
    settings.REPORTING_FILE_DIR = tmp_path
    rating = _rated(hall, coded_item, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.status == S.SENT and delivery.transport == "file"
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert [path.parent.parent.name for path in files] == ["ratings"]
    [line] = files[0].read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["idempotency_key"] == delivery.key
    assert str(rating.pk) in files[0].name, "no temporary file is left behind"

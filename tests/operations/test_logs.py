"""Structured logs: one JSON line per request and per task, with a request id that a
proxy may set only if it is plainly an id; the personal-data filter still scrubs."""

import io
import json
import logging

import pytest
from celery.signals import before_task_publish
from django.conf import settings

from audit.models import AuditEvent
from langzhong_si.logfilter import PersonalDataFilter
from langzhong_si.requestid import request_id_accept
from operations.logs import JsonFormatter
from operations.signals import REQUEST_ID_HEADER
from tests.factories import make_id_number


@pytest.fixture
def log_lines():
    """The JSON lines the console handler would write, as the settings configure it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_the_console_writes_json_lines_through_the_personal_data_filter():
    console = settings.LOGGING["handlers"]["console"]
    assert console["formatter"] == "json"
    assert console["filters"] == ["personal_data", "refusal"]  # scrubbed; refusals traceless


@pytest.mark.django_db
def test_each_request_writes_one_json_line_with_its_id_and_view(client, log_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c21"})
    assert response["X-Request-ID"] == "lb-7f3a9c21"
    (line,) = [line for line in log_lines() if line.get("event") == "request"]
    assert line["request_id"] == "lb-7f3a9c21"
    assert line["view"] == "operations:healthz"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["duration_ms"] >= 0


@pytest.mark.django_db
def test_a_request_line_names_the_route_not_the_path_or_query(client, log_lines):
    client.get("/t/secret-ticket-token-123/?number=AB123")
    (line,) = [line for line in log_lines() if line.get("event") == "request"]
    assert "secret-ticket-token-123" not in json.dumps(line)
    assert "AB123" not in json.dumps(line)


@pytest.mark.parametrize(
    "unsafe",
    [
        "",  # none
        "x" * 65,  # over 64
        "id with spaces",
        'a"}\n{"level":"CRITICAL"',  # log injection
        "req-11010519491231002X",  # carries an ID number
        "请求编号一二三四五六",  # outside the safe characters
    ],
)
def test_an_unsafe_request_id_is_replaced_by_a_new_one(unsafe):
    accepted = request_id_accept(unsafe)
    assert accepted != unsafe
    assert len(accepted) == 32


def test_a_safe_request_id_is_kept():
    assert request_id_accept("0f8e-4c1b.a_9") == "0f8e-4c1b.a_9"


@pytest.mark.django_db
def test_a_request_id_is_the_audit_events_request_id(hall, client):
    client.post(
        "/login/",
        {"username": hall.li_na.username, "password": "wrong-Pass-1"},
        headers={"X-Request-ID": "a" * 300},
    )
    event = AuditEvent.objects.get(event_type="auth.sign_in_failed")
    assert len(event.request_id) == 32
    assert event.request_id != "a" * 64


def test_an_id_number_in_any_field_of_a_json_line_is_scrubbed(log_lines):
    number = make_id_number()
    logging.getLogger("langzhong.test").warning(
        "looked up %s", number, extra={"route": f"x/{number}/", "outcome": f"password={number}"}
    )
    text = json.dumps(log_lines())
    assert number not in text
    assert number[:6] + "********" in text


def test_a_task_published_during_a_request_carries_its_id_in_a_header():
    """The publish hook puts the request's id on the task message (the worker's side is
    tests/operations/test_processes.py)."""
    from audit.context import RequestContext, reset_request_context, set_request_context
    from langzhong_si.celery import app as celery_app
    from tests.worker import broker

    seen = []

    def capture(headers=None, **kwargs):
        seen.append(dict(headers or {}))

    before_task_publish.connect(capture, weak=False)
    token = set_request_context(RequestContext(request_id="req-00001234"))
    try:
        with broker("memory://"):
            celery_app.send_task("outbox.tasks.outbox_relay_sweep")
    finally:
        reset_request_context(token)
        before_task_publish.disconnect(capture)
    assert seen[-1][REQUEST_ID_HEADER] == "req-00001234"

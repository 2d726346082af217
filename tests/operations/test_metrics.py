"""/metrics (req. 43): Prometheus' text format, scraped only from configured addresses or
with the token, and no personal data in it."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from audit.chain import audit_chain_all
from cases import services as case_services
from counters import services
from operations.models import TaskRunCount
from operations.services import task_run_count
from tests.factories import make_id_number, sign_in

pytestmark = pytest.mark.django_db


def _samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    def get():
        response = client.get("/metrics")
        assert response.status_code == 200
        return response.content.decode()

    return get


def test_metrics_are_refused_to_an_address_not_configured(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 404


def test_metrics_are_refused_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_answer_the_right_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    right = client.get(
        "/metrics",
        REMOTE_ADDR="203.0.113.9",
        headers={"Authorization": "Bearer scrape-token-0123456789"},
    )
    assert right.status_code == 200


def test_a_scrape_counts_requests_by_view_and_status_with_latency(client, scrape):
    client.get("/healthz")
    samples = _samples(scrape())
    key = (
        "langzhong_http_requests_total",
        (("method", "GET"), ("status", "200"), ("view", "operations:healthz")),
    )
    assert samples[key] >= 1
    assert (
        samples[
            ("langzhong_http_request_duration_seconds_count", (("view", "operations:healthz"),))
        ]
        >= 1
    )


def test_a_scrape_reports_the_hall_from_the_database(hall, scrape):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.ticket_issue(item=hall.item)
    services.ticket_issue(item=hall.item)
    task_run_count(task_name="risk.tasks.review_task_draw", outcome="failed")
    audit_chain_all()  # the sequencer has run: nothing waits
    samples = _samples(scrape())
    assert samples[("langzhong_tickets_waiting", (("queue", "A"),))] == 2
    assert samples[("langzhong_review_tasks_open", ())] == 0
    assert samples[("langzhong_outbox_backlog", ())] == 0
    assert samples[("langzhong_audit_chain_lag", ())] == 0
    assert samples[("langzhong_audit_chain_length", ())] > 0
    assert samples[("langzhong_draw_pool_size", (("level", "3"), ("role", "approval")))] == 2
    assert (
        samples[
            (
                "langzhong_celery_task_runs_total",
                (("outcome", "failed"), ("task", "risk.tasks.review_task_draw")),
            )
        ]
        == 1
    )
    assert ("langzhong_restore_drill_last_passed", ()) not in samples  # never drilled


def test_a_scrape_counts_sign_in_failures_and_lockouts(client, scrape, settings, hall):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/login/", {"username": hall.li_na.username, "password": "wrong-Pass-1"})
    samples = _samples(scrape())
    assert samples[("langzhong_sign_in_failures_total", ())] == 2
    assert samples[("langzhong_lockouts_total", ())] == 1


def test_task_runs_are_counted_per_task_and_outcome(db):
    for _ in range(3):
        task_run_count(task_name="t", outcome="succeeded")
    assert TaskRunCount.objects.get(task_name="t", outcome="succeeded").count == 3


def test_no_personal_data_is_in_the_metrics(
    hall, client, scrape, django_capture_on_commit_callbacks
):
    """Names, ID numbers, usernames and case numbers never appear, whatever was done."""
    number = make_id_number()
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=number,
            received_material_ids={hall.material.pk},
        )
    sign_in(client, hall.li_na)
    client.get(f"/counter/cases/{case.pk}/")
    text = scrape()
    for secret in (number, "王大山", case.number, hall.li_na.username, "李娜"):
        assert secret not in text
    # The ID number's tail is four digits that a measured value can hold by chance
    # (a duration's decimals did once); it must never be part of a metric's labels.
    labels = [
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    ]
    assert labels
    assert not [value for value in labels if number[-4:] in value]


def test_the_vendored_dashboard_and_the_readme_alerts_use_only_metrics_that_exist(
    client, scrape, settings
):
    import json
    import re
    from pathlib import Path

    from django.db import transaction

    from audit.services import audit_event_record
    from backups.events import BACKUP_MADE, RESTORE_DRILL_PASSED
    from operations.services import BEAT, WORKER, heartbeat_record

    heartbeat_record(name=WORKER)
    heartbeat_record(name=BEAT)
    task_run_count(task_name="outbox.tasks.outbox_relay_sweep", outcome="failed")
    with transaction.atomic():
        audit_event_record(event_type=BACKUP_MADE, data={})
        audit_event_record(event_type=RESTORE_DRILL_PASSED, data={})
    client.get("/healthz")
    exposed = {sample[0] for sample in _samples(scrape())}
    root = Path(settings.BASE_DIR)
    dashboard = json.loads((root / "docs/grafana/langzhong-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    readme = (root / "README.md").read_text()
    alerts = readme[readme.index("Example alert rules") : readme.index("### Logs")]
    rules_file = (root / "docs/prometheus/alerts.yml").read_text()
    assert rules_file.split("\n", 1)[1] in alerts  # the vendored rules are README's
    used = set(re.findall(r"langzhong_[a-z_]+", " ".join(expressions) + alerts))
    assert used and used <= exposed, used - exposed

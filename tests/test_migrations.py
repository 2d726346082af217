"""A database populated at the previous release's schema migrates to today's head with
nothing lost: windows get their rating pad, a task left open by the old resubmission hole
is superseded (with its event), and the audit chain still verifies."""

import datetime
import itertools

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.services import audit_log_verify

pytestmark = pytest.mark.django_db(transaction=True)

# The heads of the release before the integrity work.
PREVIOUS = [
    ("audit", "0004_report_indexes"),
    ("catalog", "0002_guide_search_and_estimates"),
    ("counters", "0006_report_indexes"),
    ("risk", "0004_report_indexes"),
    ("staff", "0005_administrators_separate_in_database"),
    ("outbox", "0001_initial"),
    ("evaluation", "0001_initial"),
]
_serial = itertools.count(1)


def _fill(model, **given):
    """Create a row of a historical model, filling every required field it lacks."""
    values = dict(given)
    for field in model._meta.concrete_fields:
        if field.name in values or field.attname in values or field.primary_key:
            continue
        if field.null or field.has_default() or getattr(field, "auto_now_add", False):
            continue
        if isinstance(field, models.ForeignKey):
            raise AssertionError(f"{model.__name__}.{field.name} must be given")
        if isinstance(field, models.JSONField):
            values[field.name] = []
        elif isinstance(field, (models.DateTimeField,)):
            values[field.name] = timezone.now()
        elif isinstance(field, models.DateField):
            values[field.name] = datetime.date(2026, 11, 30)
        elif isinstance(field, (models.IntegerField, models.DecimalField)):
            values[field.name] = 1
        elif isinstance(field, models.CharField):
            values[field.name] = f"m{next(_serial)}"[: field.max_length]
        else:
            values[field.name] = "m"
    return model.objects.create(**values)


def test_a_database_at_the_previous_release_migrates_with_nothing_lost():
    executor = MigrationExecutor(connection)
    executor.migrate(PREVIOUS)
    old = executor.loader.project_state(PREVIOUS).apps

    user = _fill(old.get_model("auth", "User"), username="reviewer-old")
    category = _fill(old.get_model("catalog", "InsuranceCategory"))
    item = _fill(old.get_model("catalog", "ServiceItem"), category=category, risk_level=1)
    window = _fill(old.get_model("counters", "Window"), number=7, queue="A", state="offline")
    ticket = _fill(old.get_model("counters", "Ticket"), item=item, status="done", clerk=user)
    case = _fill(
        old.get_model("counters", "Case"), ticket=ticket, item=item, handler=user,
        status="in_review", review_round=2, current_step=1, review_chain=["review"],
    )  # fmt: skip
    ReviewTask = old.get_model("risk", "ReviewTask")
    stale = _fill(ReviewTask, case=case, review_round=1, step=1, role="review",
                  status="open", assignee=user)  # fmt: skip
    current = _fill(ReviewTask, case=case, review_round=2, step=1, role="review",
                    status="open", assignee=user)  # fmt: skip
    Event = old.get_model("audit", "AuditEvent")
    events_before = Event.objects.count()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps

    assert (
        new.get_model("counters", "HallDevice")
        .objects.filter(kind="pad", window_id=window.pk)
        .count()
        == 1
    )
    statuses = dict(new.get_model("risk", "ReviewTask").objects.values_list("pk", "status"))
    assert statuses == {stale.pk: "superseded", current.pk: "open"}
    assert new.get_model("counters", "Case").objects.get(pk=case.pk).status == "in_review"
    superseded = new.get_model("audit", "AuditEvent").objects.filter(
        event_type="review_task.superseded", object_id=str(stale.pk)
    )
    assert superseded.count() == 1
    assert new.get_model("audit", "AuditEvent").objects.count() == events_before + 1
    assert audit_log_verify() is None

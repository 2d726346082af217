"""A database populated at an earlier schema migrates to today's head with nothing lost:
windows get their rating pad, a task left open by the old resubmission hole is superseded
(with its event), the seeds and draws moved to their own app and the ratings, follow-ups
and hall devices moved out of counters keep every row, link and history, and the audit
chain still verifies."""

import datetime
import itertools
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_event_record, audit_log_verify
from devices.selectors import hall_device_for_credential
from draws.choice import draw_choice_index, draw_message, draw_pool_canonical, seed_commitment
from draws.services import draw_commitment_export, draw_pseudonym_key
from inspection.draws import draws_verify
from langzhong_si.credentials import credential_digest
from langzhong_si.identity import personal_data_encrypt
from ratings.models import FollowUp
from ratings.selectors import open_follow_ups

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


def test_a_database_at_the_previous_release_migrates_with_nothing_lost(database_at):
    executor = database_at(PREVIOUS)
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
        new.get_model("devices", "HallDevice")
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


# The heads just before the daily seeds and draws moved from risk to the draws app.
BEFORE_DRAWS_APP = [("draws", None), ("risk", "0006_review_task_superseded")]
DRAW_DAY = datetime.date(2026, 11, 27)
SEED = "5a" * 32


def _draw_made_at_old_head(old, *, case, reviewers):
    """A revealed seed and one review draw made with it, through the old risk models,
    recorded in the audit chain and in the task's row history as the old code did."""
    seed = old.get_model("risk", "DailySeed").objects.create(
        day=DRAW_DAY, seed=personal_data_encrypt(SEED), commitment=seed_commitment(SEED),
        next_number=2, committed_at=timezone.now(), revealed_at=timezone.now(),
    )  # fmt: skip
    audit_event_record(event_type="seed.committed", obj=seed, data={"day": DRAW_DAY})
    task = _fill(old.get_model("risk", "ReviewTask"), case=case, review_round=1, step=1,
                 role="review", status="awaiting_draw")  # fmt: skip
    subject = f"review-task:{task.pk}"
    pool, members = draw_pool_canonical(
        key=draw_pseudonym_key(), day=DRAW_DAY, pool=[user.pk for user in reviewers]
    )
    message = draw_message(day=DRAW_DAY, number=1, purpose="review", subject=subject, pool=members)
    index = draw_choice_index(seed_hex=SEED, message=message, pool_size=len(pool))
    draw = old.get_model("risk", "Draw").objects.create(
        day=DRAW_DAY, number=1, scheme=2, purpose="review", subject=subject, pool=pool,
        excluded=[], chosen_id=pool[index], chosen_index=index, drawn_at=timezone.now(),
    )  # fmt: skip
    audit_event_record(event_type="draw.made", obj=draw, data={"chosen": pool[index]})
    task.draw, task.assignee_id, task.status = draw, pool[index], "approved"
    task.save(update_fields=["draw", "assignee", "status"])
    History = old.get_model("risk", "HistoricalReviewTask")
    for kind in "+~":
        _fill(History, id=task.pk, case=case, draw=draw, assignee_id=pool[index],
              review_round=1, step=1, role="review", status="approved",
              history_date=timezone.now(), history_type=kind)  # fmt: skip
    return task, draw


def test_the_draws_app_takes_over_the_seeds_and_draws_with_nothing_lost(tmp_path, database_at):
    executor = database_at(BEFORE_DRAWS_APP)
    executor.loader.build_graph()
    old = executor.loader.project_state(list(executor.loader.applied_migrations)).apps
    ContentType.objects.clear_cache()
    old_types = {
        model: ContentType.objects.get_or_create(app_label="risk", model=model)[0].pk
        for model in ("dailyseed", "draw")
    }
    reviewers = [_fill(old.get_model("auth", "User"), username=f"reviewer-{n}") for n in (1, 2)]
    category = _fill(old.get_model("catalog", "InsuranceCategory"))
    item = _fill(old.get_model("catalog", "ServiceItem"), category=category, risk_level=1)
    ticket = _fill(
        old.get_model("counters", "Ticket"), item=item, status="done", clerk=reviewers[0]
    )
    case = _fill(
        old.get_model("counters", "Case"), ticket=ticket, item=item, handler=reviewers[0],
        status="approved", review_round=1, current_step=1, review_chain=["review"],
    )  # fmt: skip
    task, draw = _draw_made_at_old_head(old, case=case, reviewers=reviewers)
    tables = [("risk", "DailySeed"), ("risk", "Draw"), ("risk", "ReviewTask"),
              ("risk", "HistoricalReviewTask"), ("counters", "Case")]  # fmt: skip
    before = [old.get_model(*table).objects.count() for table in tables]
    events_before = AuditEvent.objects.count()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps

    moved = [("draws", "DailySeed"), ("draws", "Draw"), *tables[2:]]
    assert [new.get_model(*table).objects.count() for table in moved] == before
    # A draw stored before numbering per subject keeps its number, in its day's series.
    kept = new.get_model("draws", "Draw").objects.get(pk=draw.pk)
    assert (kept.number, kept.numbering) == (1, 1)
    new_task = new.get_model("risk", "ReviewTask").objects.select_related("draw").get(pk=task.pk)
    assert (new_task.draw.pk, new_task.draw.chosen_id) == (draw.pk, new_task.assignee_id)
    history = new.get_model("risk", "HistoricalReviewTask").objects.filter(id=task.pk)
    assert [row.draw.pk for row in history.select_related("draw")] == [draw.pk, draw.pk]
    ContentType.objects.clear_cache()
    assert {
        model: ContentType.objects.get(app_label="draws", model=model).pk for model in old_types
    } == old_types
    assert not ContentType.objects.filter(app_label="risk", model__in=old_types).exists()
    assert AuditEvent.objects.count() == events_before
    assert audit_log_verify() is None
    assert draws_verify(day=DRAW_DAY, commitment_dir=tmp_path) == []
    # The commitment file still finds the seed's event in the chain.
    exported = json.loads(draw_commitment_export(day=DRAW_DAY, directory=tmp_path).read_text())
    committed = AuditEvent.objects.get(event_type="seed.committed")
    assert (exported["audit_position"], exported["commitment"]) == (
        committed.position,
        seed_commitment(SEED),
    )


def test_the_one_open_ticket_guard_names_duplicate_tickets_instead_of_failing_blindly(database_at):
    executor = database_at([("counters", "0009_ratings_and_devices_move_to_their_apps")])
    executor.loader.build_graph()
    old = executor.loader.project_state(list(executor.loader.applied_migrations)).apps
    category = _fill(old.get_model("catalog", "InsuranceCategory"))
    item = _fill(old.get_model("catalog", "ServiceItem"), category=category)
    Ticket = old.get_model("counters", "Ticket")
    for sequence in (7, 9):
        _fill(Ticket, item=item, status="waiting", queue="A", sequence=sequence,
              applicant_id_digest="same-digest")  # fmt: skip

    executor = MigrationExecutor(connection)
    with pytest.raises(RuntimeError, match=r"A: 7, 9"):
        executor.migrate([("counters", "0010_ticket_first_call_and_one_open_per_id_queue")])

    Ticket.objects.filter(sequence=9).update(status="cancelled")
    executor = MigrationExecutor(connection)
    executor.migrate([("counters", "0010_ticket_first_call_and_one_open_per_id_queue")])
    assert Ticket.objects.filter(status="waiting").count() == 1


# The heads just before the ratings and the hall devices moved from counters to their apps.
BEFORE_SPLIT = [
    ("ratings", None),
    ("devices", None),
    ("counters", "0008_hall_device_credential_digest"),
]
SPLIT_MODELS = {
    "halldevice": "devices",
    "rating": "ratings",
    "followup": "ratings",
    "historicalfollowup": "ratings",
}


def _hall_at_old_head(old):
    """A kiosk and a pad, a ticket the kiosk issued, its bad rating and the follow-up
    (with two history rows), recorded in the audit chain as the old code did."""
    clerk = _fill(old.get_model("auth", "User"), username="clerk-old")
    window = _fill(old.get_model("counters", "Window"), number=3, queue="A", state="offline")
    HallDevice = old.get_model("counters", "HallDevice")
    kiosk = _fill(HallDevice, kind="kiosk", window=None, credential_digest=credential_digest("k"))
    _fill(HallDevice, kind="pad", window=window, credential_digest=credential_digest("p"))
    audit_event_record(event_type="device.registered", obj=kiosk, data={"kind": "kiosk"})
    ticket = _fill(
        old.get_model("counters", "Ticket"), item=None, is_consultation=True, status="done",
        clerk=clerk, window=window, issued_by=kiosk, priority_confirmed_by=None,
    )  # fmt: skip
    rating = _fill(old.get_model("counters", "Rating"), ticket=ticket, window=window,
                   clerk=clerk, level=1, reason="等太久")  # fmt: skip
    audit_event_record(event_type="rating.submitted", obj=rating, data={"level": 1})
    follow_up = _fill(old.get_model("counters", "FollowUp"), rating=rating, handled_by=None)
    audit_event_record(event_type="follow_up.opened", obj=follow_up)
    for kind in "+~":
        _fill(old.get_model("counters", "HistoricalFollowUp"), id=follow_up.pk, rating=rating,
              handled_by=None, history_user=None, history_date=timezone.now(),
              history_type=kind)  # fmt: skip
    return ticket, kiosk, follow_up


def test_the_ratings_and_devices_apps_take_over_their_rows_with_nothing_lost(database_at):
    executor = database_at(BEFORE_SPLIT)
    executor.loader.build_graph()
    old = executor.loader.project_state(list(executor.loader.applied_migrations)).apps
    ContentType.objects.clear_cache()
    old_types = {
        model: ContentType.objects.get_or_create(app_label="counters", model=model)[0].pk
        for model in SPLIT_MODELS
    }
    ticket, kiosk, follow_up = _hall_at_old_head(old)
    tables = [("counters", "HallDevice"), ("counters", "Rating"), ("counters", "FollowUp"),
              ("counters", "HistoricalFollowUp"), ("counters", "Ticket")]  # fmt: skip
    before = [old.get_model(*table).objects.count() for table in tables]
    events_before = AuditEvent.objects.count()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps

    moved = [("devices", "HallDevice"), ("ratings", "Rating"), ("ratings", "FollowUp"),
             ("ratings", "HistoricalFollowUp"), ("counters", "Ticket")]  # fmt: skip
    assert [new.get_model(*table).objects.count() for table in moved] == before
    assert before[:4] == [2, 1, 1, 2]
    new_ticket = new.get_model("counters", "Ticket").objects.get(pk=ticket.pk)
    assert new_ticket.issued_by.pk == kiosk.pk
    rating = new.get_model("ratings", "Rating").objects.get(ticket_id=ticket.pk)
    assert new.get_model("ratings", "FollowUp").objects.get(rating=rating).pk == follow_up.pk
    ContentType.objects.clear_cache()
    assert {
        model: ContentType.objects.get(app_label=app, model=model).pk
        for model, app in SPLIT_MODELS.items()
    } == old_types
    assert not ContentType.objects.filter(app_label="counters", model__in=SPLIT_MODELS).exists()
    assert AuditEvent.objects.count() == events_before
    assert audit_log_verify() is None
    # Today's code reads the moved rows: the kiosk's credential, the follow-up's history.
    assert hall_device_for_credential("k", "kiosk").pk == kiosk.pk
    assert FollowUp.objects.get(pk=follow_up.pk).history.count() == 2
    assert [row.pk for row in open_follow_ups()] == [follow_up.pk]

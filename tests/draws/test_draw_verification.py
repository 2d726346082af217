"""Draws verifiable end to end: the commitment is published before the day's first
draw, verify_draws checks who actually holds each task and ticket, and an auditor's
bundle recomputes outside the system."""

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from counters import services as counter_services
from counters.models import Ticket
from draws import services
from draws.models import DailySeed, Draw
from inspection.draws import draws_verify
from risk import services as risk_services
from risk.models import ReviewTask
from sites.defaults import home_agency_id
from staff.roles import Role
from tests.factories import hall_case_accept, make_staff, sign_in

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "verify_draws_bundle.py"


@pytest.fixture
def _commitments_folder(settings):
    return settings.DRAW_COMMITMENT_DIR  # a fresh folder per test (tests/conftest.py)


def _case_drawn(hall, capture):
    """li_na serves a ticket and submits a level-2 case; its review step is drawn."""
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    counter_services.ticket_issue(item=hall.item)
    with capture(execute=False):
        case = hall_case_accept(hall)
    return risk_services.review_task_draw(task_id=case.tasks.get().pk)


@pytest.fixture
def yesterday_drawn(hall, django_capture_on_commit_callbacks):
    """Yesterday: its seed committed (and exported) first, then a ticket dispatched and
    a review step drawn; today the seed is revealed. Returns (day, review task)."""
    from audit.bulk import bulk_writes_allowed
    from risk.models import Qualification

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.update(valid_from=yesterday)
    with mock.patch("django.utils.timezone.localdate", return_value=yesterday):
        with django_capture_on_commit_callbacks(execute=True):
            services.daily_seed_commit(day=yesterday)
        task = _case_drawn(hall, django_capture_on_commit_callbacks)
    services.daily_seeds_rotate()
    return yesterday, task


# --- (a) the commitment before the first draw --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_first_draw_of_a_day_finds_its_commitment_committed_in_an_earlier_transaction(
    hall, _commitments_folder
):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.ticket_issue(item=hall.item)
    # No beat ran and no seed exists (the set-up's tasks committed some: gone); the
    # clerk's "ready" request makes the day's first draw.
    DailySeed.objects.all().delete()
    services._seeds_seen_for = None  # as on a new day: this process has seen no seed yet
    shutil.rmtree(_commitments_folder, ignore_errors=True)
    today = timezone.localdate()
    seen = {}
    real_draw_record = services.draw_record

    def spy(**kwargs):
        seed = DailySeed.objects.get(day=today)
        seen["committed_in_draw"] = seed.committed_in_draw
        seen["exported"] = services.draw_commitment_exported(day=today)
        seen["commitment"] = seed.commitment
        seen["in_transaction"] = connection.in_atomic_block
        return real_draw_record(**kwargs)

    client = Client()
    sign_in(client, hall.li_na)
    with mock.patch("counters.services.draw_record", side_effect=spy):
        client.post(reverse("counters:ready"))
    assert Ticket.objects.get().status == Ticket.Status.SERVING, "the request drew a clerk"
    assert seen["in_transaction"], "the draw runs inside the request's transaction..."
    assert seen["committed_in_draw"] is False, "...and its seed was committed before it"
    assert seen["exported"] == seen["commitment"], "and exported to its file"
    events = list(AuditEvent.objects.order_by("id").values_list("event_type", flat=True))
    assert events.index("seed.committed") < events.index("draw.made")
    assert DailySeed.objects.filter(day=today + datetime.timedelta(days=1)).exists()


def test_each_days_commit_also_commits_the_next_day():
    today = timezone.localdate()
    services.daily_seed_commit(day=today)
    assert set(DailySeed.objects.values_list("day", flat=True)) == {
        today,
        today + datetime.timedelta(days=1),
    }
    committed = AuditEvent.objects.filter(event_type="seed.committed")
    assert committed.count() == 2


def test_a_draw_run_outside_any_request_or_task_is_flagged_by_verify_draws(
    hall, django_capture_on_commit_callbacks
):
    from audit.bulk import bulk_writes_allowed
    from risk.models import Qualification

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    # Crafting the scenario directly in the database, past the services.
    with bulk_writes_allowed():
        Qualification.objects.update(valid_from=yesterday)
    with mock.patch("django.utils.timezone.localdate", return_value=yesterday):
        _case_drawn(hall, django_capture_on_commit_callbacks)  # no seed committed first
    assert DailySeed.objects.get(day=yesterday).committed_in_draw
    services.daily_seeds_rotate()
    mismatches = draws_verify(day=yesterday)
    assert [m.reason for m in mismatches] == [
        "commitment recorded with the day's first draw, not published before"
    ]


def test_the_exported_commitment_file_holds_the_days_commitment_and_its_audit_position(
    _commitments_folder, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        seed = services.daily_seed_commit(day=today)
    record = json.loads((_commitments_folder / f"{today.isoformat()}.json").read_text())
    event = AuditEvent.objects.get(event_type="seed.committed", object_id=str(seed.pk))
    assert (record["day"], record["commitment"]) == (today.isoformat(), seed.commitment)
    assert (record["audit_position"], record["audit_hash"]) == (event.position, event.hash)


def test_beat_writes_a_commitment_file_an_earlier_export_missed(
    _commitments_folder, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=False):
        seed = services.daily_seed_commit(day=today)  # its export never ran (disk full...)
    assert services.draw_commitment_exported(day=today) is None
    with django_capture_on_commit_callbacks(execute=True):
        services.daily_seeds_rotate()
    assert services.draw_commitment_exported(day=today) == seed.commitment


def test_verify_draws_catches_a_seed_and_commitment_rewritten_after_the_export(
    yesterday_drawn,
):
    from draws.choice import seed_commitment
    from langzhong_si.identity import personal_data_encrypt

    day, _task = yesterday_drawn
    call_command("verify_draws", day.isoformat())
    # A database administrator swaps in a seed of their choosing, with its commitment.
    forged = "22" * 32
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE risk_dailyseed SET seed = %s, commitment = %s WHERE day = %s",
            [personal_data_encrypt(forged), seed_commitment(forged), day],
        )
    reasons = [m.reason for m in draws_verify(day=day)]
    assert "commitment differs from the one exported" in reasons


# --- (b) who actually holds the task and serves the ticket ------------------------------


def test_verify_draws_names_a_review_task_whose_assignee_was_changed_in_the_database(
    yesterday_drawn, hall, capsys
):
    day, task = yesterday_drawn
    call_command("verify_draws", day.isoformat())
    # An administrator hands the task to someone else in SQL, past every service.
    other = hall.ma if task.assignee_id != hall.ma.pk else hall.zhou
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE risk_reviewtask SET assignee_id = %s WHERE id = %s", [other.pk, task.pk]
        )
    with pytest.raises(CommandError, match="do not verify"):
        call_command("verify_draws", day.isoformat())
    assert f"review task {task.pk} (case {task.case.number}) is held by user {other.pk}" in (
        capsys.readouterr().err
    )


def test_verify_draws_catches_a_task_pointed_at_another_draw(yesterday_drawn):
    day, task = yesterday_drawn
    dispatch = Draw.objects.get(day=day, purpose=Draw.Purpose.TICKET_DISPATCH)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE risk_reviewtask SET draw_id = %s, assignee_id = %s WHERE id = %s",
            [dispatch.pk, dispatch.chosen_id, task.pk],
        )
    reasons = " / ".join(m.reason for m in draws_verify(day=day))
    assert f"review task {task.pk}" in reasons and "points at the draw made for ticket:" in reasons
    assert f"review-task:{task.pk} no longer points at its draw" in reasons


def test_verify_draws_names_a_ticket_whose_clerk_was_changed_in_the_database(
    yesterday_drawn, capsys
):
    day, _task = yesterday_drawn
    ticket = Ticket.objects.get(service_date=day)
    intruder = make_staff(Role.CLERK)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE counters_ticket SET clerk_id = %s WHERE id = %s", [intruder.pk, ticket.pk]
        )
    with pytest.raises(CommandError):
        call_command("verify_draws", day.isoformat())
    assert f"ticket {ticket.pk} (#{ticket.sequence}) is served by user {intruder.pk}" in (
        capsys.readouterr().err
    )


def test_verify_draws_catches_a_task_assigned_without_any_draw(yesterday_drawn, hall):
    day, task = yesterday_drawn
    with connection.cursor() as cursor:
        cursor.execute("UPDATE risk_reviewtask SET draw_id = NULL WHERE id = %s", [task.pk])
    reasons = " / ".join(m.reason for m in draws_verify(day=day))
    assert f"review task {task.pk} (case {task.case.number}) has an assignee but no draw" in (
        reasons
    )


# --- (c) numbers: 1, 2, 3 … per subject, no shared counter ------------------------------


def _dispatch_draw(subject: str, pool: list[int]) -> Draw:
    from django.db import transaction

    with transaction.atomic():
        return services.draw_record(
            purpose=Draw.Purpose.TICKET_DISPATCH, subject=subject, pool=pool, excluded=[]
        )


@pytest.fixture
def yesterday_draws(hall, django_capture_on_commit_callbacks):
    """Yesterday, seed committed first: ticket:901 drawn three times (re-queued twice),
    ticket:902 once; then the day is revealed. Returns (day, {subject: [draws]})."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    pool = [hall.li_na.pk, hall.zhou.pk, hall.ma.pk]
    made: dict[str, list[Draw]] = {"ticket:901": [], "ticket:902": []}
    at_ten = timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(10)))
    with (
        mock.patch("django.utils.timezone.localdate", return_value=yesterday),
        mock.patch("django.utils.timezone.now", return_value=at_ten),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.daily_seed_commit(day=yesterday)
        for subject in ("ticket:901", "ticket:902", "ticket:901", "ticket:901"):
            made[subject].append(_dispatch_draw(subject, pool))
    services.daily_seeds_rotate()
    return yesterday, made


def test_each_subjects_draws_are_numbered_1_2_3_on_their_own(yesterday_draws):
    day, made = yesterday_draws
    assert [draw.number for draw in made["ticket:901"]] == [1, 2, 3]
    assert [draw.number for draw in made["ticket:902"]] == [1]
    assert {draw.numbering for draws in made.values() for draw in draws} == {Draw.Numbering.SUBJECT}
    assert draws_verify(day=day) == []


def test_verify_draws_reports_a_number_missing_from_a_subjects_series(yesterday_draws):
    day, made = yesterday_draws
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM risk_draw WHERE id = %s", [made["ticket:901"][1].pk])
    mismatches = draws_verify(day=day)
    assert (2, "missing draw number of ticket:901") in [(m.number, m.reason) for m in mismatches]


def test_verify_draws_catches_a_subjects_last_draw_deleted_by_its_audit_event(
    yesterday_draws,
):
    day, made = yesterday_draws
    # The last draw leaves no gap in its series' numbers...
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM risk_draw WHERE id = %s", [made["ticket:902"][0].pk])
    reasons = [m.reason for m in draws_verify(day=day)]
    # ...but the hash chain still holds its event.
    assert reasons == ["draw for ticket:902 recorded in the audit log is missing"]


def test_verify_draws_catches_a_draw_the_audit_log_never_recorded(yesterday_draws):
    day, made = yesterday_draws
    first = made["ticket:902"][0]
    # A draw slipped in past the service: numbered right, chosen right, never logged.
    forged = Draw.objects.create(
        day=day, number=2, subject=first.subject, purpose=first.purpose, scheme=first.scheme,
        pool=first.pool, chosen_id=first.chosen_id, chosen_index=first.chosen_index,
        drawn_at=first.drawn_at,
    )  # fmt: skip
    mismatches = [(m.number, m.reason) for m in draws_verify(day=day)]
    assert (forged.number, "draw for ticket:902 is not in the audit log") in mismatches


def test_draws_numbered_by_the_day_before_the_change_still_verify_and_a_gap_is_reported(
    yesterday_draws,
):
    day, made = yesterday_draws
    # Stored before numbering per subject: the day's one series (as migrated), 1 to 4.
    in_day_order = sorted(
        (draw for draws in made.values() for draw in draws), key=lambda draw: draw.pk
    )
    for number, draw in enumerate(in_day_order, start=1):
        draw.numbering, draw.number = Draw.Numbering.DAY, number
        _redraw_with_number(draw)
    assert draws_verify(day=day) == []
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM risk_draw WHERE id = %s", [in_day_order[1].pk])
    mismatches = [(m.number, m.reason) for m in draws_verify(day=day)]
    assert (2, "missing draw number") in mismatches


def _redraw_with_number(draw: Draw) -> None:
    """Recompute `draw`'s choice for its (new) number, as the old numbering drew it."""
    from draws.choice import draw_choice_index, draw_message, draw_pool_canonical
    from langzhong_si.identity import personal_data_decrypt

    seed = personal_data_decrypt(DailySeed.objects.get(day=draw.day).seed)
    _pool, members = draw_pool_canonical(
        key=services.draw_pseudonym_key(), day=draw.day, pool=draw.pool
    )
    message = draw_message(
        day=draw.day, number=draw.number, purpose=draw.purpose, subject=draw.subject, pool=members
    )
    draw.chosen_index = draw_choice_index(seed_hex=seed, message=message, pool_size=len(members))
    draw.chosen_id = draw.pool[draw.chosen_index]
    draw.save(update_fields=["numbering", "number", "chosen_index", "chosen"])


def test_a_draw_rolled_back_and_made_again_takes_its_number_and_its_person_again(hall):
    from django.db import transaction

    services.daily_seed_commit(day=timezone.localdate())
    pool = [hall.li_na.pk, hall.zhou.pk, hall.ma.pk, hall.sun.pk]
    with pytest.raises(RuntimeError), transaction.atomic():
        undone = services.draw_record(
            purpose=Draw.Purpose.TICKET_DISPATCH, subject="ticket:77", pool=pool, excluded=[]
        )
        raise RuntimeError("the dispatch failed after its draw")
    again = _dispatch_draw("ticket:77", pool)
    assert again.number == undone.number == 1
    assert again.chosen_id == undone.chosen_id


def test_a_draw_locks_no_shared_counter_one_read_and_two_inserts(hall):
    from django.db import transaction

    services.daily_seed_commit(day=timezone.localdate())
    pool = [hall.li_na.pk, hall.zhou.pk]
    agency_id = home_agency_id()  # the hall's draws name theirs: the ticket's, the case's
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        services.draw_record(
            purpose=Draw.Purpose.TICKET_DISPATCH, subject="ticket:78", pool=pool, excluded=[],
            agency_id=agency_id,
        )  # fmt: skip
    # On PostgreSQL the session's prepared statements (EXECUTE): their texts.
    prepared = getattr(connection, "prepared_statements", {})
    texts = [
        prepared[sql.split()[1].split("(")[0]] if sql.startswith("EXECUTE") else sql
        for sql in (query["sql"] for query in queries.captured_queries)
    ]
    # Seed and number; draw; its event.
    assert [text.split()[0].upper() for text in texts] == ["SELECT", "INSERT", "INSERT"]
    assert "FOR UPDATE" not in texts[0].upper()


# --- (d) the auditor's bundle, recomputed outside the system -----------------------------


def _download(day) -> tuple[dict, object]:
    auditor = make_staff(Role.AUDITOR)
    client = Client()
    sign_in(client, auditor)
    response = client.get(reverse("draws:draw_bundle"), {"day": day.isoformat()})
    assert response.status_code == 200
    assert f'filename="draws-{day.isoformat()}.json"' in response["Content-Disposition"]
    return json.loads(response.content), auditor


def _run_script(tmp_path, bundle: dict, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    # -I: isolated from the project and its packages; the script needs Python only.
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-I", str(SCRIPT), str(path), *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )


def test_an_auditors_bundle_download_is_an_audit_event(yesterday_drawn):
    day, _task = yesterday_drawn
    _bundle, auditor = _download(day)
    event = AuditEvent.objects.get(event_type="draws.bundle_downloaded")
    assert (event.actor_id, event.data) == (auditor.pk, {"day": day.isoformat(), "draws": 2})


def test_the_bundle_names_people_only_by_pseudonyms_of_the_day(yesterday_drawn, hall):
    day, task = yesterday_drawn
    bundle, _auditor = _download(day)
    review = next(draw for draw in bundle["draws"] if draw["subject"] == f"review-task:{task.pk}")
    assert all(isinstance(member, str) and len(member) == 20 for member in review["pool"])
    assert review["chosen"] == review["pool"][review["chosen_index"]]
    excluded = {row["member"] for row in review["excluded"]}
    assert excluded and excluded.isdisjoint(review["pool"])
    text = json.dumps(bundle, ensure_ascii=False)
    for person in (hall.li_na, hall.zhou, hall.ma, hall.sun):
        assert person.username not in text and person.staff_profile.display_name not in text


def test_the_standalone_script_verifies_a_downloaded_bundle(
    yesterday_drawn, tmp_path, _commitments_folder
):
    day, _task = yesterday_drawn
    bundle, _auditor = _download(day)
    exported = _commitments_folder / f"{day.isoformat()}.json"
    result = _run_script(tmp_path, bundle, "--commitment-file", str(exported))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: all 2 draws of {day.isoformat()} verify")


def test_the_bundle_names_each_draws_series_and_the_script_finds_a_gap_in_one(
    yesterday_draws, tmp_path
):
    day, _made = yesterday_draws
    bundle, _auditor = _download(day)
    assert [(draw["series"], draw["number"]) for draw in bundle["draws"]] == [
        ("ticket:901", 1), ("ticket:901", 2), ("ticket:901", 3), ("ticket:902", 1),
    ]  # fmt: skip
    assert _run_script(tmp_path, bundle).returncode == 0
    del bundle["draws"][1]  # ticket:901's second draw withheld from the bundle
    result = _run_script(tmp_path, bundle)
    assert result.returncode == 1
    assert "MISMATCH: draw #3 of ticket:901: expected number 2 (a draw is missing)" in (
        result.stdout
    )


def test_the_standalone_script_reports_a_tampered_draw(yesterday_drawn, tmp_path):
    day, task = yesterday_drawn
    bundle, _auditor = _download(day)
    review = next(draw for draw in bundle["draws"] if draw["subject"] == f"review-task:{task.pk}")
    # Someone claims a person left out of the pool was the one chosen.
    review["chosen"] = review["excluded"][0]["member"]
    result = _run_script(tmp_path, bundle)
    assert result.returncode == 1
    assert f"MISMATCH: draw #{review['number']}" in result.stdout


def test_the_standalone_script_refuses_a_seed_not_matching_the_published_commitment(
    yesterday_drawn, tmp_path, _commitments_folder
):
    from draws.choice import seed_commitment

    day, _task = yesterday_drawn
    bundle, _auditor = _download(day)
    bundle["seed"] = "33" * 32
    bundle["commitment"] = seed_commitment(bundle["seed"])  # consistent, but not published
    exported = _commitments_folder / f"{day.isoformat()}.json"
    result = _run_script(tmp_path, bundle, "--commitment-file", str(exported))
    assert result.returncode == 1
    assert "not the one published that day" in result.stdout


def test_a_bundle_of_a_day_still_secret_is_refused(hall):
    auditor = make_staff(Role.AUDITOR)
    services.daily_seed_commit(day=timezone.localdate())
    client = Client()
    sign_in(client, auditor)
    response = client.get(reverse("draws:draw_bundle"), {"day": timezone.localdate().isoformat()})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event_type="draws.bundle_downloaded").exists()
    assert ReviewTask.objects.count() == 0

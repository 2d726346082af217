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
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import services as case_services
from counters import services as counter_services
from counters.models import Ticket
from draws import services
from draws.models import DailySeed, Draw
from inspection.draws import draws_verify
from risk import services as risk_services
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

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
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=make_id_number(),
            received_material_ids={hall.material.pk},
        )
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


# --- (c) the auditor's bundle, recomputed outside the system -----------------------------


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

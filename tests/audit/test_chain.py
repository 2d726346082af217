from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.chain import audit_chain_all
from audit.models import AuditEvent
from audit.services import audit_event_record, audit_log_verify
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def _three_events():
    """Three events, committed and chained by the sequencer (as beat does after commit)."""
    for n in range(3):
        audit_event_record(event_type="test.event", data={"n": n})
    audit_chain_all()


def _as_database_administrator(sql: str, params=None) -> None:
    """Tamper the way a database administrator could: switch the trigger off first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of this test's inserts would block ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def test_an_untouched_chain_verifies():
    _three_events()
    assert audit_log_verify() is None
    call_command("verify_audit_log")


def test_it_names_the_row_whose_content_was_changed():
    _three_events()
    _as_database_administrator(
        "UPDATE audit_auditevent SET event_type = 'forged' WHERE position = 2"
    )
    broken = audit_log_verify()
    assert (broken.position, broken.reason) == (2, "content changed")
    with pytest.raises(CommandError, match="position 2"):
        call_command("verify_audit_log")


def test_it_names_the_position_of_a_deleted_row():
    _three_events()
    _as_database_administrator("DELETE FROM audit_auditevent WHERE position = 2")
    assert audit_log_verify().position == 2


def test_it_names_a_row_inserted_with_a_forged_predecessor():
    _three_events()
    last = AuditEvent.objects.get(position=3)
    AuditEvent.objects.create(
        position=4,
        occurred_at=last.occurred_at,
        event_type="forged",
        data={},
        prev_hash="f" * 64,
        hash="f" * 64,
    )
    assert audit_log_verify().position == 4


def test_each_event_carries_the_request_id_and_source_ip(client, hall):
    sign_in(client, hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk}, HTTP_X_REQUEST_ID="req-42")
    event = AuditEvent.objects.get(event_type="window.signed_on")
    assert event.request_id == "req-42"
    assert event.source_ip == "127.0.0.1"
    assert event.actor == hall.li_na


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET event_type = 'forged'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
    ids=["update", "delete", "truncate"],
)
def test_postgresql_refuses_changing_the_log(sql):
    from django.db import InternalError, transaction

    _three_events()
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of this test's inserts would block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(InternalError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 3


@pytest.mark.postgres
def test_the_old_truncate_setting_no_longer_opens_the_log():
    from django.db import InternalError, transaction

    _three_events()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(InternalError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL langzhong.allow_audit_truncate = 'on'")
        cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 3


def test_a_whole_chain_rewritten_after_an_export_is_caught(tmp_path):
    from audit.services import audit_event_hash

    _three_events()
    call_command("export_audit_head", directory=str(tmp_path), stdout=StringIO())
    head_file = next(tmp_path.glob("*.json"))
    # Rewrite history and recompute every hash, so the chain itself verifies again.
    events = list(AuditEvent.objects.order_by("position"))
    _as_database_administrator(
        "UPDATE audit_auditevent SET event_type = 'forged' WHERE position = 1"
    )
    previous = "0" * 64
    for event in events:
        event.refresh_from_db()
        event.prev_hash = previous
        event.hash = audit_event_hash(event)
        _as_database_administrator(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE position = %s",
            [event.prev_hash, event.hash, event.position],
        )
        previous = event.hash
    assert audit_log_verify() is None
    with pytest.raises(CommandError, match="rewritten"):
        call_command("verify_audit_log", head=[str(head_file)])


def _export_head():
    call_command("export_audit_head", stdout=StringIO())


def test_verify_fails_when_the_log_is_shorter_than_the_last_exported_head():
    _three_events()
    _export_head()
    _as_database_administrator("DELETE FROM audit_auditevent WHERE position = 3")
    assert audit_log_verify() is None  # what is left is a valid chain on its own
    with pytest.raises(CommandError, match=r"position 3: the log ends at #2, shorter than"):
        call_command("verify_audit_log")


def test_a_deleted_tail_refilled_with_new_events_is_caught_as_a_rewrite():
    _three_events()
    _export_head()
    _as_database_administrator("DELETE FROM audit_auditevent WHERE position = 3")
    audit_event_record(event_type="test.refill")
    audit_chain_all()
    with pytest.raises(CommandError, match="position 3: the chain was rewritten"):
        call_command("verify_audit_log")


def test_export_refuses_to_replace_a_head_with_a_shorter_log():
    from audit.services import audit_heads_directory

    _three_events()
    _export_head()
    _as_database_administrator("DELETE FROM audit_auditevent WHERE position = 3")
    with pytest.raises(CommandError, match="not exported: the log ends at #2"):
        _export_head()
    [head_file] = audit_heads_directory().glob("*.json")
    assert '"position": 3' in head_file.read_text()


def test_verify_fails_on_an_unreadable_head_file():
    from audit.services import audit_heads_directory

    _three_events()
    audit_heads_directory().mkdir(parents=True)
    (audit_heads_directory() / "2026-01-01.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not a readable audit head"):
        call_command("verify_audit_log")


def test_verify_reads_heads_from_the_directory_it_is_given(tmp_path):
    _three_events()
    call_command("export_audit_head", directory=str(tmp_path), stdout=StringIO())
    _as_database_administrator("DELETE FROM audit_auditevent WHERE position = 3")
    call_command("verify_audit_log", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="shorter than the head #3"):
        call_command("verify_audit_log", heads_dir=str(tmp_path))


def test_the_audit_administrators_page_also_checks_the_exported_heads(client):
    from staff.roles import Role
    from tests.factories import make_staff

    administrator = make_staff(Role.AUDIT_ADMINISTRATOR)
    _three_events()
    _export_head()
    last = AuditEvent.objects.order_by("-position").first().position
    _as_database_administrator("DELETE FROM audit_auditevent WHERE position = %s", [last])
    sign_in(client, administrator)
    page = client.get("/audit/log/?verify=1").content.decode()
    assert 'data-testid="chain-broken"' in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_a_valid_chain():
    import threading

    from django.db import connections, transaction

    def write(worker):
        try:
            for n in range(1000):
                with transaction.atomic():
                    audit_event_record(
                        event_type="test.concurrent", data={"worker": worker, "n": n}
                    )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    audit_chain_all()
    assert AuditEvent.objects.filter(position__isnull=False).count() == 8000
    assert audit_log_verify() is None


def test_sign_ins_sign_outs_and_failures_are_events_without_the_password(client, hall):
    client.post("/login/", {"username": hall.li_na.username, "password": "wrong-Pass-1"})
    client.post("/login/", {"username": hall.li_na.username, "password": "Demo-pass-123"})
    client.post("/logout/")
    kinds = list(
        AuditEvent.objects.filter(event_type__startswith="auth.").values_list(
            "event_type", flat=True
        )
    )
    assert kinds == ["auth.sign_in_failed", "auth.signed_in", "auth.signed_out"]
    failed = AuditEvent.objects.get(event_type="auth.sign_in_failed")
    assert failed.data == {"username": hall.li_na.username, "account_exists": True}
    assert failed.source_ip == "127.0.0.1" and failed.object_id == str(hall.li_na.pk)
    assert "wrong-Pass-1" not in str(list(AuditEvent.objects.values_list("data", flat=True)))

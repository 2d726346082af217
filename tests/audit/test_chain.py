import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditEvent
from audit.services import audit_event_record, audit_log_verify

pytestmark = pytest.mark.django_db


def _three_events():
    for n in range(3):
        audit_event_record(event_type="test.event", data={"n": n})


def test_an_untouched_chain_verifies():
    _three_events()
    assert audit_log_verify() is None
    call_command("verify_audit_log")


def test_it_names_the_row_whose_content_was_changed():
    _three_events()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET event_type = 'forged' WHERE position = 2")
    broken = audit_log_verify()
    assert (broken.position, broken.reason) == (2, "content changed")
    with pytest.raises(CommandError, match="position 2"):
        call_command("verify_audit_log")


def test_it_names_the_position_of_a_deleted_row():
    _three_events()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE position = 2")
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
    client.force_login(hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk}, HTTP_X_REQUEST_ID="req-42")
    event = AuditEvent.objects.get(event_type="window.signed_on")
    assert event.request_id == "req-42"
    assert event.source_ip == "127.0.0.1"
    assert event.actor == hall.li_na

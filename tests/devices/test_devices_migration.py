"""A screen registered while device credentials were stored in clear keeps working after
counters 0008 keeps only their digests, and the clear column is gone."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from rest_framework.test import APIClient

from devices.decorators import DEVICE_COOKIE
from langzhong_si.credentials import credential_digest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("counters", "0007_blind_scans_and_bound_devices")]


def test_a_device_registered_before_the_digest_migration_still_works_after_it(database_at):
    executor = database_at(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Window = old.get_model("counters", "Window")
    HallDevice = old.get_model("counters", "HallDevice")
    window = Window.objects.create(number=9, zone="综合受理区", queue="A", state="offline")
    kiosk = HallDevice.objects.create(kind="kiosk", name="取号机", token="kiosk-cookie-from-2025")
    pad = HallDevice.objects.create(
        kind="pad", name="评价器", window=window, token="pad-cookie-from-2025"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM counters_halldevice ORDER BY id")
        columns = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    assert "token" not in columns
    assert not [value for row in rows for value in row if "cookie-from-2025" in str(value)]
    digests = {row[columns.index("id")]: row[columns.index("credential_digest")] for row in rows}
    assert digests == {
        kiosk.pk: credential_digest("kiosk-cookie-from-2025"),
        pad.pk: credential_digest("pad-cookie-from-2025"),
    }
    screen = Client()
    screen.cookies[DEVICE_COOKIE] = "kiosk-cookie-from-2025"
    assert screen.get("/kiosk/").status_code == 200
    tablet = APIClient()
    tablet.credentials(HTTP_AUTHORIZATION="Device pad-cookie-from-2025")
    assert tablet.get("/api/rating-pad/").status_code == 204

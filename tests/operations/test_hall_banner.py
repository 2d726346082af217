"""The live hall turns red when the worker or beat is down (draws and time limits stop)
or when no restore drill has passed recently."""

import datetime
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from audit.services import audit_event_record
from backups.events import RESTORE_DRILL_FAILED, RESTORE_DRILL_PASSED
from operations.models import Heartbeat
from operations.services import BEAT, WORKER, heartbeat_record
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db
BANNER = "/lead/dashboard/status/"


@pytest.fixture
def lead_client(client):
    sign_in(client, make_staff(Role.TEAM_LEAD))
    return client


def _drill(kind):
    with transaction.atomic():
        audit_event_record(event_type=kind, data={})


def _banners(client) -> str:
    response = client.get(BANNER, headers={"X-Poll": "1"})
    assert response.status_code == 200
    return response.content.decode()


def test_the_live_hall_fetches_the_operations_banner(lead_client):
    page = lead_client.get("/lead/dashboard/").content.decode()
    assert f'hx-get="{BANNER}"' in page


def test_the_banner_is_empty_when_everything_runs_and_the_drill_passed(lead_client):
    heartbeat_record(name=WORKER)
    heartbeat_record(name=BEAT)
    _drill(RESTORE_DRILL_PASSED)
    assert "operations-banner" not in _banners(lead_client)


def test_the_banner_says_the_worker_is_down(lead_client):
    heartbeat_record(name=WORKER)
    heartbeat_record(name=BEAT)
    _drill(RESTORE_DRILL_PASSED)
    Heartbeat.objects.filter(name=WORKER).update(
        seen_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    html = _banners(lead_client)
    assert html.count("operations-banner") == 1
    assert "后台任务进程未运行" in html


def test_the_banner_says_beat_is_down_and_the_drill_failed(lead_client):
    heartbeat_record(name=WORKER)
    _drill(RESTORE_DRILL_FAILED)
    html = _banners(lead_client)
    assert html.count("operations-banner") == 2


def test_the_banner_says_when_no_drill_passed_recently(lead_client):
    heartbeat_record(name=WORKER)
    heartbeat_record(name=BEAT)
    nine_days_ago = timezone.now() - datetime.timedelta(days=9)
    with mock.patch("django.utils.timezone.now", return_value=nine_days_ago):
        _drill(RESTORE_DRILL_PASSED)
    assert _banners(lead_client).count("operations-banner") == 1


def test_a_clerk_cannot_see_the_banner(client, hall):
    sign_in(client, hall.li_na)
    assert client.get(BANNER).status_code == 403

"""Issue 17, point 1: the reviewer's and approver's inbox holds only their own tasks of
their own agency. A task of another agency is never fetched by its id, on the screen or
the API — not even one wrongly assigned across agencies — and answers 404.

Personas (tests.test_agency_isolation's agency A): A's drawn reviewer; a reviewer of
agency B."""

import pytest

from audit.bulk import bulk_writes_allowed
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import make_staff, sign_in
from tests.test_agency_isolation import _agency_a

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(django_capture_on_commit_callbacks, two_agencies):
    return _agency_a(django_capture_on_commit_callbacks, two_agencies)


@pytest.fixture
def outsider(hall_b):
    """A reviewer and approver of agency B, qualified to every level."""
    return make_staff(
        [Role.REVIEWER, Role.APPROVER], review_level=3, approval_level=3, sites=[hall_b]
    )


def _assign(task, person):
    with bulk_writes_allowed():
        ReviewTask.objects.filter(pk=task.pk).update(assignee=person)


def test_the_drawn_reviewer_opens_the_task_on_the_screen_and_the_api(client, a):
    sign_in(client, a.task.assignee)
    assert client.get(f"/inbox/tasks/{a.task.pk}/").status_code == 200
    assert client.get(f"/api/inbox/tasks/{a.task.pk}/").json()["case_number"] == a.case.number


@pytest.mark.parametrize("url", ["/inbox/tasks/{pk}/", "/api/inbox/tasks/{pk}/"])
def test_a_reviewer_of_another_agency_gets_404_for_the_task(client, a, outsider, url):
    sign_in(client, outsider)
    assert client.get(url.format(pk=a.task.pk)).status_code == 404


@pytest.mark.parametrize("url", ["/inbox/tasks/{pk}/", "/api/inbox/tasks/{pk}/"])
def test_a_task_assigned_across_agencies_is_still_404(client, a, outsider, url):
    _assign(a.task, outsider)
    sign_in(client, outsider)
    assert client.get(url.format(pk=a.task.pk)).status_code == 404


def test_a_task_assigned_across_agencies_is_not_in_the_inbox(client, a, outsider):
    _assign(a.task, outsider)
    sign_in(client, outsider)
    assert a.case.number not in client.get("/inbox/").content.decode()
    assert client.get("/api/inbox/tasks/").json() == []


@pytest.mark.parametrize(
    "url, json",
    [("/inbox/tasks/{pk}/decide/", False), ("/api/inbox/tasks/{pk}/decision/", True)],
)
def test_a_task_assigned_across_agencies_cannot_be_decided(client, a, outsider, url, json):
    _assign(a.task, outsider)
    sign_in(client, outsider)
    extra = {"content_type": "application/json"} if json else {}
    response = client.post(url.format(pk=a.task.pk), {"decision": "approve"}, **extra)
    assert response.status_code == 404
    assert ReviewTask.objects.get(pk=a.task.pk).status == ReviewTask.Status.OPEN

"""The inbox's list: the person's own open tasks of the agency they work in, soonest due
first (the list's read, compiled once), and of every agency their sites belong to should
a person's sites ever span several (the same read through the ORM)."""

import datetime

import pytest
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from counters.models import Case
from inbox.selectors import inbox_tasks
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import ItemFactory, make_agency, make_id_number, make_site, make_staff

pytestmark = pytest.mark.django_db

_NOW = timezone.now()


def _task(site, person, *, hours: int, status=ReviewTask.Status.OPEN) -> ReviewTask:
    id_number = make_id_number()
    case = Case.objects.create(
        number=f"L{Case.objects.count():09d}",
        site=site,
        agency=site.agency,
        item=ItemFactory(risk_level=2),
        guide_snapshot={},
        risk_level=2,
        applicant_name="王大山",
        applicant_id_encrypted="",
        applicant_id_digest=id_number[-8:],
        applicant_id_masked=id_number[:4],
        handler=make_staff(Role.CLERK, sites=[site]),
        checklist=[],
        status=Case.Status.IN_REVIEW,
        review_round=1,
        current_step=1,
        accepted_at=_NOW,
        due_date=timezone.localdate(),
    )
    task = ReviewTask.objects.create(
        case=case, agency=site.agency, review_round=1, step=1, role="review"
    )
    with bulk_writes_allowed():
        ReviewTask.objects.filter(pk=task.pk).update(
            status=status, assignee=person, due_at=_NOW + datetime.timedelta(hours=hours)
        )
    return task


def _sites(count: int) -> list:
    return [make_site(agency=make_agency(), kind="hall") for _ in range(count)]


@pytest.mark.parametrize("agencies", [1, 3])
def test_the_inbox_lists_ones_open_tasks_of_ones_agencies_soonest_due_first(
    agencies, django_assert_num_queries
):
    sites = _sites(agencies)
    person = make_staff(Role.REVIEWER, review_level=3, sites=sites[:1])
    other = make_staff(Role.REVIEWER, review_level=3, sites=sites[:1])
    person.staff_profile.sites.add(*sites[1:])  # past staff.services' one-agency check
    expected = [_task(site, person, hours=10 - n) for n, site in enumerate(sites)]
    later = ReviewTask.objects.get(pk=_task(sites[0], person, hours=20).pk)
    tied = _task(sites[-1], person, hours=20)  # the same time: by key
    with bulk_writes_allowed():  # PostgreSQL now stores the earlier key after the later
        moved = ReviewTask.objects.filter(pk=later.pk)
        moved.update(due_at=later.due_at + datetime.timedelta(hours=1))
        moved.update(due_at=later.due_at)
    _task(sites[0], other, hours=1)  # someone else's
    _task(sites[0], person, hours=1, status=ReviewTask.Status.APPROVED)  # decided
    _task(make_site(agency=make_agency(), kind="hall"), person, hours=1)  # another agency

    listed = inbox_tasks(user=person)

    assert [task.pk for task in listed] == [*[t.pk for t in reversed(expected)], later.pk, tied.pk]
    with django_assert_num_queries(0):  # each task's case and item read with it
        assert all(task.case.item.name for task in listed)


def test_a_person_at_no_site_has_an_empty_inbox():
    person = make_staff(Role.REVIEWER, review_level=3)
    _task(person.staff_profile.sites.get(), person, hours=1)
    person.staff_profile.sites.clear()
    assert inbox_tasks(user=person) == []


def test_a_city_viewer_sees_only_their_own_open_tasks_of_every_agency():
    sites = _sites(2)
    viewer = make_staff(Role.CITY_VIEWER, sites=sites[:1])
    own = [_task(site, viewer, hours=n) for n, site in enumerate(sites)]
    _task(sites[0], make_staff(Role.REVIEWER, review_level=3, sites=sites[:1]), hours=0)
    assert [task.pk for task in inbox_tasks(user=viewer)] == [task.pk for task in own]

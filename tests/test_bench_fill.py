"""The million-case benchmarks' bulk fill (bench/reports_1m.py) writes rows the schema
takes: run small, so a column added to a busy table is noticed here, not on the day the
benchmark is needed."""

import pytest

from audit.models import AuditEvent, Finding
from bench.reports_1m import fill
from counters.models import Case, Ticket
from ratings.models import Rating
from risk.models import ReviewTask
from sites.defaults import home_agency_id, home_site_id

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # generate_series, arrays


def test_the_fill_writes_cases_of_every_kind_at_the_home_hall(hall):
    fill(400)
    tickets = Ticket.objects.filter(sequence__lt=100000)  # today's busy morning: 100001…
    assert tickets.count() == 400
    assert Case.objects.filter(ticket__in=tickets).count() == 400
    assert set(Case.objects.values_list("site_id", "agency_id").distinct()) == {
        (home_site_id(), home_agency_id())
    }
    assert Rating.objects.count() > 0 and ReviewTask.objects.exists()
    # Each finished case's sampling record (before today's busy morning reopened some).
    assert 0 < AuditEvent.objects.filter(event_type="audit.sampled").count() <= 400
    assert Finding.objects.exists()
    assert Ticket.objects.filter(sequence__gt=100000, status="waiting").count() == 60

"""Reports and evaluation split by applicant kind: persons, employers (单位), and the cases
an agent (代办人) brought, of either kind."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from counters.models import Case
from evaluation.periods import Period
from evaluation.selectors import Kind, period_report, staff_evaluation
from langzhong_si.identity import id_number_digest
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db


def _case(hall, status, **extra):
    now = timezone.now()
    return Case.objects.create(
        number=f"K{Case.objects.count():011d}",
        item=hall.item,
        guide_snapshot={},
        risk_level=0,
        applicant_name="王",
        applicant_id_encrypted="",
        applicant_id_digest=id_number_digest(make_id_number()),
        applicant_id_masked="",
        handler=hall.li_na,
        checklist=[],
        status=status,
        accepted_at=now,
        due_date=timezone.localdate() + datetime.timedelta(days=3),
        finished_at=now if status == Case.Status.FINISHED else None,
        **extra,
    )


AGENT = {"agent_name": "张代办", "agent_id_digest": "a" * 64}
EMPLOYER = {"applicant_kind": "employer", "employer_credit_code": "91110108551385082Q"}


@pytest.fixture
def mixed(hall):
    """Two persons' cases (one through an agent and helped by zhou), two employers' (one
    through an agent, one only notified)."""
    _case(hall, Case.Status.FINISHED)
    _case(hall, Case.Status.FINISHED, assisting_staff=hall.zhou, **AGENT)
    _case(hall, Case.Status.FINISHED, **EMPLOYER, **AGENT)
    _case(hall, Case.Status.NOTIFIED, **EMPLOYER)
    today = timezone.localdate()
    return Period(today, today)


def test_the_report_splits_cases_by_applicant_kind(mixed):
    rows = {row["kind"]: row for row in period_report(mixed)["by_applicant"]}
    assert (rows["person"]["received"], rows["person"]["accepted"]) == (2, 2)
    assert (rows["employer"]["received"], rows["employer"]["accepted"]) == (2, 1)
    assert (rows["agent"]["received"], rows["agent"]["accepted"]) == (2, 2)
    assert rows["person"]["assisted"] == 1 and rows["employer"]["assisted"] == 0
    assert rows["employer"]["in_time_rate"] == 100.0


def test_the_clerks_evaluation_counts_employers_and_agents_cases(hall, mixed):
    rows = staff_evaluation(mixed)
    row = next(r for r in rows if r.user_id == hall.li_na.pk and r.kind == Kind.CLERK)
    assert (row.cases_accepted, row.employer_cases, row.agent_cases) == (3, 1, 2)


def test_the_report_screen_shows_the_applicant_split(client, hall, mixed):
    sign_in(client, make_staff(Role.TEAM_LEAD))
    day = mixed.first.isoformat()
    html = client.get(reverse("evaluation:report"), {"from": day, "to": day}).content.decode()
    assert 'data-testid="report-by-applicant"' in html
    assert 'data-kind="employer"' in html and 'data-kind="agent"' in html

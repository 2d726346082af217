"""Issue 16's done-when over HTTP: an employer case with a checked credit code, and an
agent case whose agent is a staff member's declared relative, each go from the
workbench through a level-2 chain (review, then approval) to approved, every decision
posted on the inbox by the person drawn for it."""

import pytest

from counters.models import Case
from risk import services as risk_services
from staff.roles import Role
from tests.cases.test_agents_employers_http import _post, _serving, relative_as_agent_case
from tests.factories import ItemFactory, MaterialFactory, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain_hall(hall):
    """The usual hall plus 吴秀英, a second reviewer qualified to level 2, so a level-2
    review can be drawn when 周建国 must step aside."""
    hall.wu = make_staff(Role.REVIEWER, review_level=2, name="吴秀英")
    return hall


def _every_step_approved(client, case, capture):
    """Draw each step and have its drawn person approve it on the inbox; the tasks."""
    tasks = []
    for step in (1, 2):
        task = risk_services.review_task_draw(task_id=case.tasks.get(step=step).pk)
        sign_in(client, task.assignee)
        assert client.get(f"/inbox/tasks/{task.pk}/").status_code == 200
        with capture(execute=True):
            response = client.post(f"/inbox/tasks/{task.pk}/decide/", {"decision": "approve"})
        assert response.status_code == 302
        tasks.append(task)
    case.refresh_from_db()
    return tasks


def test_an_employer_case_with_a_checked_credit_code_is_reviewed_approved_and_done(
    client, chain_hall, django_capture_on_commit_callbacks
):
    item = ItemFactory(name="单位参保登记", risk_level=2)
    MaterialFactory(item=item, name="营业执照副本")
    _serving(client, chain_hall, item)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            item,
            applicant_kind="employer",
            credit_code="9111 0108 5513 8508 2q",  # as typed: spaces, lower case
            employer_name="阆中市某某有限公司",
        )
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.applicant_kind, case.employer_credit_code) == ("employer", "91110108551385082Q")

    review, approval = _every_step_approved(client, case, django_capture_on_commit_callbacks)

    assert case.status == Case.Status.APPROVED and case.finished_at is not None
    assert (review.role, approval.role) == ("review", "approval")
    assert len({chain_hall.li_na.pk, review.assignee_id, approval.assignee_id}) == 3
    sign_in(client, chain_hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert "91110108551385082Q" in page and "阆中市某某有限公司" in page


def test_an_agent_case_whose_agent_is_a_staff_relative_goes_through_without_that_staff_member(
    client, chain_hall, django_capture_on_commit_callbacks
):
    item = ItemFactory(risk_level=2)
    MaterialFactory(item=item)
    case = relative_as_agent_case(client, chain_hall, item, django_capture_on_commit_callbacks)

    review, approval = _every_step_approved(client, case, django_capture_on_commit_callbacks)

    assert case.status == Case.Status.APPROVED
    # 周建国 holds both qualifications but is the agent's spouse: out of both draws, with
    # the reason recorded; the other qualified people decide.
    for task in (review, approval):
        assert {"user": chain_hall.zhou.pk, "reason": "agent_relative"} in task.draw.excluded
    assert (review.assignee, approval.assignee) == (chain_hall.wu, chain_hall.ma)

"""A stateful property test over one case and its review tasks: random sequences of draw,
approve, return, reject, resubmit, expire and stale decisions, checking after every step
that the case's status agrees with its tasks."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from audit.bulk import bulk_writes_allowed
from cases import services as case_services
from counters import services as counter_services
from counters.models import Case
from inbox import services as inbox_services
from risk import services
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import ItemFactory, MaterialFactory, make_id_number, make_staff

pytestmark = pytest.mark.django_db

S = Case.Status
T = ReviewTask.Status


def _machine(hall, item, material):
    class CaseChain(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            counter_services.window_declare_ready(clerk=hall.li_na)
            counter_services.ticket_issue(item=item)
            self.case = case_services.case_accept(
                clerk=hall.li_na,
                item_id=item.pk,
                applicant_name="王大山",
                id_number=make_id_number(),
                received_material_ids={material.pk},
            )
            counter_services.ticket_finish(clerk=hall.li_na)

        # --- helpers ---
        def _reload(self) -> Case:
            self.case.refresh_from_db()
            return self.case

        def _task(self, status):
            return self.case.tasks.filter(status=status).first()

        def _snapshot(self):
            case = self._reload()
            tasks = list(self.case.tasks.order_by("pk").values_list("pk", "status"))
            return (case.status, case.review_round, case.current_step, tasks)

        # --- rules ---
        @rule()
        def draw(self):
            task = self._task(T.AWAITING_DRAW)
            if task is not None:
                services.review_task_draw(task_id=task.pk)

        @rule(decision=st.sampled_from(["approve", "return", "reject"]))
        def decide(self, decision):
            task = self._task(T.OPEN)
            if task is not None:
                inbox_services.review_task_decide(
                    task_id=task.pk, actor=task.assignee, decision=decision, comment="理由"
                )

        @rule()
        def resubmit(self):
            returned = self._reload().status == S.RETURNED
            before = self._snapshot()
            try:
                case_services.case_resubmit(clerk=hall.li_na, case_id=self.case.pk)
            except ValidationError:
                assert not returned, "a returned case can always be resubmitted"
                assert self._snapshot() == before, "a refused resubmission changes nothing"
            else:
                assert returned, "only a returned case can be resubmitted"

        @rule()
        def expire(self):
            task = self._task(T.OPEN)
            if task is None:
                return
            # Crafting the scenario directly in the database: the time limit has passed.
            with bulk_writes_allowed():
                ReviewTask.objects.filter(pk=task.pk).update(
                    due_at=timezone.now() - datetime.timedelta(minutes=1)
                )
            services.review_task_expire(task_id=task.pk)

        @precondition(lambda self: self.case.tasks.exclude(status=T.OPEN).exists())
        @rule(data=st.data())
        def stale_decision(self, data):
            closed = list(self.case.tasks.exclude(status=T.OPEN).exclude(assignee=None))
            if not closed:
                return
            task = data.draw(st.sampled_from(closed))
            before = self._snapshot()
            with pytest.raises((ValidationError, PermissionDenied)):
                inbox_services.review_task_decide(
                    task_id=task.pk, actor=task.assignee, decision="approve"
                )
            assert self._snapshot() == before, "a decision on a closed task changes nothing"

        # --- invariants ---
        @invariant()
        def at_most_one_open_task(self):
            assert self.case.tasks.filter(status__in=ReviewTask.OPEN_STATES).count() <= 1

        @invariant()
        def status_agrees_with_tasks(self):
            case = self._reload()
            open_tasks = list(case.tasks.filter(status__in=ReviewTask.OPEN_STATES))
            if case.status == S.IN_REVIEW:
                assert len(open_tasks) == 1
                task = open_tasks[0]
                assert (task.review_round, task.step) == (case.review_round, case.current_step)
            else:
                assert open_tasks == []
            if case.status == S.APPROVED:
                approved = set(
                    case.tasks.filter(
                        review_round=case.review_round, status=T.APPROVED
                    ).values_list("step", flat=True)
                )
                assert approved == set(range(1, len(case.review_chain) + 1))

        @invariant()
        def the_chain_of_a_round_is_distinct_people(self):
            case = self._reload()
            holders = list(
                case.tasks.filter(review_round=case.review_round)
                .exclude(status__in=[T.EXPIRED, T.SUPERSEDED])
                .exclude(assignee=None)
                .values_list("assignee_id", flat=True)
            )
            assert len(holders) == len(set(holders))
            assert case.handler_id not in holders

    return CaseChain


def test_a_case_and_its_tasks_always_agree(hall):
    item = ItemFactory(risk_level=3)
    material = MaterialFactory(item=item, name="居民身份证")
    for _ in range(3):
        make_staff(Role.REVIEWER, review_level=3)
        make_staff(Role.APPROVER, approval_level=3)
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    machine = _machine(hall, item, material)
    machine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()

"""The same journey with background draws made by a real Celery worker process
consuming from Redis, as in production."""

import pytest

from counters import services as counter_services
from counters.models import Case
from inbox import services as inbox_services
from risk.models import ReviewTask
from tests.factories import hall_case_accept
from tests.worker import celery_worker, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _assigned(step):
    return ReviewTask.objects.filter(step=step, status=ReviewTask.Status.OPEN).exists()


def test_a_real_worker_draws_the_reviewer_and_the_approver(hall, tmp_path):
    with celery_worker(tmp_path):
        counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
        counter_services.window_declare_ready(clerk=hall.li_na)
        counter_services.ticket_issue(item=hall.item)
        case = hall_case_accept(hall)
        wait_until(lambda: _assigned(1), what="the worker to draw the reviewer")
        review = ReviewTask.objects.get(step=1)
        assert review.assignee == hall.zhou

        inbox_services.review_task_decide(task_id=review.pk, actor=hall.zhou, decision="approve")
        wait_until(lambda: _assigned(2), what="the worker to draw the approver")
        approval = ReviewTask.objects.get(step=2)
        assert approval.assignee == hall.ma

        inbox_services.review_task_decide(task_id=approval.pk, actor=hall.ma, decision="approve")
    case.refresh_from_db()
    assert case.status == Case.Status.APPROVED
    assert case.tasks.filter(draw__isnull=False).count() == 2

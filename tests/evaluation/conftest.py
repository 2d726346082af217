"""A small hall week built by hand through the services, on a simulated clock, so every
report and evaluation figure has a known answer.

Monday 2026-03-02 … Friday 2026-03-06; li_na serves the hall queue at window 1.
- C1 citizen A, level-0 item: finished on the spot; rated 5.
- C2 citizen A, level-2 item, key material missing: one-time notice; rated 2 (follow-up).
- C3 citizen A again on Tuesday, complete: zhou reviews, ma approves (within the limit).
- C4 citizen B, level-2: zhou rejects it on Tuesday (finished within the limit).
- C5 citizen C, back-office item: forwarded by wang at window 6 (the back-office queue).
- C6 citizen D, level-2: zhou never decides (open; past its date when "today" is late).
- T7: a no-show.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from cases import services as case_services
from counters import services
from counters.models import Queue
from evaluation.periods import Period
from inbox.services import review_task_decide
from ratings import services as rating_services
from risk.models import Qualification, ReviewTask
from simulation.hall import SimulationClock, simulated_time
from staff.roles import Role
from tests.factories import ItemFactory, MaterialFactory, WindowFactory, make_id_number, make_staff

WEEK = Period(datetime.date(2026, 3, 2), datetime.date(2026, 3, 6))


def moment(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=timezone.get_current_timezone())


def _serve(clerk, clock, when, item, **intake):
    clock.moment = when
    services.window_declare_ready(clerk=clerk)
    ticket = services.ticket_issue(item=item)
    with _after_commit():
        case = case_services.case_accept(clerk=clerk, item_id=item.pk, **intake) if intake else None
    services.ticket_finish(clerk=clerk)
    return ticket, case


_capture = None


def _after_commit():
    """Run what the services left for after commit (the outbox relay: the audit) at once,
    at the simulated moment, as a real commit would."""
    return _capture(execute=True)


@pytest.fixture
def week(hall, django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks
    with bulk_writes_allowed():  # the hall's staff were qualified before the week
        Qualification.objects.update(valid_from=WEEK.first - datetime.timedelta(days=30))
    level0 = ItemFactory(risk_level=0, code="L0-001", name="参保证明打印")
    MaterialFactory(item=level0, name="居民身份证")
    back_office = ItemFactory(at_counter=False, code="BO-001", name="后台事项")
    MaterialFactory(item=back_office, name="申请表")
    wang = make_staff(Role.CLERK, name="王磊")
    back_window = WindowFactory(number=6, zone="后台事项区", queue=Queue.BACK_OFFICE)
    citizens = {key: make_id_number(serial=n) for n, key in enumerate("ABCD", 11)}
    clerk = hall.li_na
    clock = SimulationClock(moment(2, 8, 40))

    def complete(item, who, name="张三"):
        return {
            "applicant_name": name,
            "id_number": citizens[who],
            "received_material_ids": set(item.materials.values_list("pk", flat=True)),
        }

    with simulated_time(clock):
        services.window_sign_on(clerk=clerk, window_id=hall.window.pk)
        t1, c1 = _serve(clerk, clock, moment(2, 9), level0, **complete(level0, "A"))
        rating_services.rating_submit(ticket_id=t1.pk, level=5, window=hall.window)
        t2, c2 = _serve(
            clerk,
            clock,
            moment(2, 9, 20),
            hall.item,
            applicant_name="张三",
            id_number=citizens["A"],
            received_material_ids=set(),
        )
        rating_services.rating_submit(ticket_id=t2.pk, level=2, reason="等太久", window=hall.window)
        _t4, c4 = _serve(clerk, clock, moment(2, 10), hall.item, **complete(hall.item, "B", "李四"))
        services.window_sign_on(clerk=wang, window_id=back_window.pk)
        _t5, c5 = _serve(
            wang, clock, moment(2, 10, 30), back_office, **complete(back_office, "C", "王五")
        )
        _t6, c6 = _serve(clerk, clock, moment(2, 11), hall.item, **complete(hall.item, "D", "赵六"))
        clock.moment = moment(2, 11, 30)
        services.window_declare_ready(clerk=clerk)
        services.ticket_issue(item=hall.item)
        for _call in range(2):  # called again before a no-show
            services.ticket_recall(clerk=clerk)
        clock.moment += datetime.timedelta(seconds=settings.NO_SHOW_MIN_WAIT_SECONDS)
        services.ticket_no_show(clerk=clerk)
        _t3, c3 = _serve(clerk, clock, moment(3, 9), hall.item, **complete(hall.item, "A"))
        clock.moment = moment(3, 10)
        review = ReviewTask.objects.get(case=c3, step=1)
        with _after_commit():
            review_task_decide(task_id=review.pk, actor=hall.zhou, decision="approve")
        clock.moment = moment(3, 11)
        approval = ReviewTask.objects.get(case=c3, step=2)
        with _after_commit():
            review_task_decide(task_id=approval.pk, actor=hall.ma, decision="approve")
        clock.moment = moment(3, 15)
        rejected = ReviewTask.objects.get(case=c4, step=1)
        review_task_decide(task_id=rejected.pk, actor=hall.zhou, decision="reject", comment="不符")
    for case in (c1, c2, c3, c4, c5, c6):
        case.refresh_from_db()
    return SimpleNamespace(hall=hall, wang=wang, cases=(c1, c2, c3, c4, c5, c6), level0=level0)

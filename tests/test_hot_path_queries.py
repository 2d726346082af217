"""Query counts of the hot paths, pinned (STYLE 10): a level-2 case's services, step by
step, as the hall runs them a few dozen times a second. A change that adds a query to
one of them shows here first; raise a count only knowingly. Each top-level service's
transaction shows here as a savepoint and its release (two of each count: the test's
own transaction wraps them); on-commit work (outbox relay, version bumps) is not run.
Audit events and row history are written together at the end of each transaction
(langzhong_si.batch): `_flush(tables)` is that write's share of the count."""

import pytest
from django.db import connection

from cases.services import case_accept
from counters import services as counter_services
from inbox.services import review_task_decide
from risk.models import ReviewTask
from risk.services import review_task_draw
from sites.defaults import home_site_id
from tests.factories import as_if_awaiting_its_draw, make_id_number

pytestmark = pytest.mark.django_db


FLUSH_TABLES = 4  # audit events, the case's and the task's history, the drawn person's notification


def _draw_row() -> int:
    """A draw's own row: on PostgreSQL its key comes with its number and the row is
    written with the audit events (no statement of its own); elsewhere its own INSERT."""
    return 0 if connection.vendor == "postgresql" else 1


def _task_drawn() -> int:
    """A new review task's own writes: on PostgreSQL its key comes with its draw's number
    and it is written once, open with its person, with the audit events (no statement
    of its own); elsewhere it is inserted awaiting its draw, then updated."""
    return 0 if connection.vendor == "postgresql" else 2


def _moves(updates: int, *, read_next: bool = False) -> int:
    """Status moves' UPDATEs (their rows locked already): on PostgreSQL no statement of
    their own, they wait for the batch's write (langzhong_si.batch); `read_next`: a read
    of their table comes before that write and makes a write of its own first (one
    statement for all of them). Elsewhere one statement each."""
    if connection.vendor != "postgresql":
        return updates
    return 1 if read_next else 0


def _flush(tables: int) -> int:
    """The batched write of audit events and row history: one statement on PostgreSQL,
    one per table elsewhere (SQLite cannot insert into several tables at once)."""
    return 1 if connection.vendor == "postgresql" else tables


@pytest.fixture(autouse=True)
def _seeds_committed(db):
    """Today's and tomorrow's seeds, as beat commits them before the hall opens."""
    from django.utils import timezone

    from draws.services import daily_seed_commit

    daily_seed_commit(day=timezone.localdate())


@pytest.fixture(autouse=True)
def _site_agency_remembered(db):
    """A running process has looked up its hall's agency once already (memoised)."""
    from sites.defaults import agency_id_of_site, home_site_id

    agency_id_of_site(home_site_id())


@pytest.fixture
def ready_clerk(hall):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.window_declare_ready(clerk=hall.li_na)
    return hall.li_na


def _intake(hall, clerk):
    return case_accept(
        clerk=clerk, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
    )  # fmt: skip


# A ticket issued with no kiosk and no site named (these tests, set-up paths) is the home
# hall's: one query to find it (sites.defaults.home_site_id). A kiosk's ticket takes its
# kiosk's site and has none; the case takes its ticket's site and agency. Whether the
# site's agency switched the item off is one query more (catalog.item_offered_check).
HOME_HALL = 1


def test_issuing_a_ticket_with_no_clerk_ready_takes_eight_queries(hall, django_assert_num_queries):
    # Its number is one statement inside the transaction (no commit of its own); with no
    # window ready, the dispatch looks at no waiting ticket.
    with django_assert_num_queries(6 + HOME_HALL + _flush(2)):
        counter_services.ticket_issue(item=hall.item)


def test_a_ticket_for_a_named_site_reads_the_site_and_the_items_switch_off_in_one_query(
    hall, django_assert_num_queries
):
    site_id = home_site_id()
    # As the home hall's look-up: whether the site is open and whether its agency
    # switched the item off, in one query; the number, the ticket and the dispatch as above.
    with django_assert_num_queries(6 + _flush(2)):
        counter_services.ticket_issue(item=hall.item, site_id=site_id)


def test_issuing_a_ticket_that_is_drawn_to_a_ready_clerk_takes_eleven_queries(
    hall, ready_clerk, django_assert_num_queries
):
    # The draw reads its number, the seed and whether tomorrow's is committed in one;
    # the ready pool is read without locks, then the chosen window alone is locked; with
    # no other window ready, no next ticket is looked for; the window's and the ticket's
    # moves are written with the audit events.
    with django_assert_num_queries(9 + _moves(2) + HOME_HALL + _draw_row() + _flush(3)):
        counter_services.ticket_issue(item=hall.item)


def test_a_clerk_declaring_ready_calls_the_next_ticket_in_ten_queries(
    hall, django_assert_num_queries
):
    counter_services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    counter_services.ticket_issue(item=hall.item)
    # The window's READY move is written by the write the ready pool's read makes first
    # (one of the nine; elsewhere its own UPDATE); the call's two moves with the events.
    with django_assert_num_queries(9 + _moves(2) + _draw_row() + _flush(3)):
        counter_services.window_declare_ready(clerk=hall.li_na)


def test_intake_of_a_level_two_case_with_its_reviewers_draw_takes_twelve_queries(
    hall, ready_clerk, django_assert_num_queries
):
    counter_services.ticket_issue(item=hall.item)
    # The item is read once (with its materials, its latest version and its chain); the
    # clerk's own recusal in one; the window and its ticket locked in one, with whether
    # the ticket's agency switched the item off; the case number inside the
    # transaction; the reviewer's draw in two (pool; number with the draw's and, on
    # PostgreSQL, the task's keys), the task there, the drawn person's notification and
    # the draw written with the audit events (the pool reads the case's waiting events
    # only where they could name its clerk: none).
    with django_assert_num_queries(11 + _task_drawn() + _draw_row() + _flush(FLUSH_TABLES)):
        _intake(hall, ready_clerk)


def test_a_retried_draw_of_a_task_awaiting_its_person_takes_six_queries_its_pool_one(
    hall, ready_clerk, django_assert_num_queries
):
    counter_services.ticket_issue(item=hall.item)
    case = _intake(hall, ready_clerk)
    task = as_if_awaiting_its_draw(case)
    # The drawn person's notification and the task's move are written with the audit events.
    with django_assert_num_queries(5 + _moves(1) + _draw_row() + _flush(3)):
        review_task_draw(task_id=task.pk)


def test_a_decision_that_opens_and_draws_the_next_step_takes_eight_queries(
    hall, ready_clerk, django_assert_num_queries
):
    counter_services.ticket_issue(item=hall.item)
    case = _intake(hall, ready_clerk)
    task = ReviewTask.objects.get(case=case)
    # The task and its case locked in one statement; the next step's draw in two, its
    # task written with the audit events on PostgreSQL (_task_drawn); the decided task's
    # and the case's moves written together before the pool reads the tasks.
    moves = _moves(2, read_next=True)
    with django_assert_num_queries(6 + moves + _task_drawn() + _draw_row() + _flush(FLUSH_TABLES)):
        review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")


def test_finishing_a_ticket_with_nobody_waiting_takes_five_queries(
    hall, ready_clerk, django_assert_num_queries
):
    counter_services.ticket_issue(item=hall.item)
    _intake(hall, ready_clerk)
    # The window and its ticket locked in one; the window ready again looks for the next
    # waiting ticket (none). On PostgreSQL the window's and the ticket's moves, their
    # versions and events are all written by the one flush that read makes first.
    with django_assert_num_queries(4 + _moves(2) + _flush(3)):
        counter_services.ticket_finish(clerk=ready_clerk)


def test_the_decision_that_ends_the_chain_takes_seven_queries(
    hall, ready_clerk, django_assert_num_queries
):
    counter_services.ticket_issue(item=hall.item)
    case = _intake(hall, ready_clerk)
    task = ReviewTask.objects.get(case=case)
    review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")
    last = ReviewTask.objects.get(case=case, step=2)
    # Every step of the round checked approved (that read writes the task's move first);
    # the case's move written with the audit events, its continuous audit queued with
    # them (the outbox's row rides the batch).
    with django_assert_num_queries(5 + _moves(1, read_next=True) + _moves(1) + _flush(4)):
        review_task_decide(task_id=last.pk, actor=last.assignee, decision="approve")


def _finished_case_audit_message(hall, clerk, settings):
    from outbox.models import OutboxMessage

    # Not drawn for re-inspection (a drawn case raises its finding: a query or two more).
    settings.AUDIT_SAMPLE_RATES = {level: 0.0 for level in range(4)}
    counter_services.ticket_issue(item=hall.item)
    case = _intake(hall, clerk)
    for step in (1, 2):
        task = ReviewTask.objects.get(case=case, step=step)
        review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")
    return case, OutboxMessage.objects.get(dedupe_key=f"case-audit:{case.pk}")


def test_the_continuous_audit_of_a_finished_case_takes_five_queries(
    hall, ready_clerk, django_assert_num_queries, settings, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from draws.selectors import daily_seed_stored
    from inspection.rules import case_audit
    from sites.defaults import home_agency_id

    case, message = _finished_case_audit_message(hall, ready_clerk, settings)
    with django_capture_on_commit_callbacks(execute=True):  # the process has read the seed
        daily_seed_stored(agency_id=home_agency_id(), day=timezone.localdate())
    # Its message marked done; the case with its sampling record, whether its chain
    # repeats a person and its clerk's recent cases with the applicant, in one; the
    # sample's event (no batch: one row).
    with django_assert_num_queries(5):
        case_audit(case_id=case.pk, outbox_message_id=message.pk)


def test_the_days_first_continuous_audit_reads_the_days_seed_too(
    hall, ready_clerk, django_assert_num_queries, settings
):
    from inspection.rules import case_audit

    case, message = _finished_case_audit_message(hall, ready_clerk, settings)
    with django_assert_num_queries(6):
        case_audit(case_id=case.pk, outbox_message_id=message.pk)


@pytest.mark.postgres  # the account's one read takes its roles and sites on PostgreSQL only
def test_a_decision_over_the_api_reads_the_persons_sites_with_their_account_only(hall, ready_clerk):
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from tests.factories import sign_in

    counter_services.ticket_issue(item=hall.item)
    task = ReviewTask.objects.get(case=_intake(hall, ready_clerk))
    api = APIClient()
    sign_in(api, task.assignee)
    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            f"/api/inbox/tasks/{task.pk}/decision/", {"decision": "approve"}, format="json"
        )
    assert response.status_code == 200
    # The request's own reads before the service: the session, the account (with its
    # password age, roles and sites: staff.selectors.user_with_account_state), the second
    # factor's device, the task with its case; none of the scope's own (staff.scope).
    assert not any(
        '"sites_site"."agency_id"' in query["sql"]
        or 'FROM "sites_site"' in query["sql"]
        # A compiled read, prepared on PostgreSQL: EXECUTE, its tables named in a comment.
        or (query["sql"].startswith("EXECUTE cr_") and "sites_site" in query["sql"])
        for query in queries
    )
    # In all: those four and the decision's seven (its next step drawn, the day's seed
    # already read by the request's middleware); no write of the session: the sign-in,
    # seconds before, stands for the person's last activity (staff.middleware).
    assert len(queries) == 4 + 7

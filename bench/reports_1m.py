"""Report and live-view timings over a database holding a million cases (PostgreSQL).

    .venv/bin/python bench/reports_1m.py [--cases 1000000] [--admin-url postgres://...]

Creates (or re-creates) the database `langzhong_bench`, migrates it, seeds the demo
hall, then fills it with bulk SQL — benchmarking only, nothing here goes through the
services: N finished cases spread over three years, one ticket each, ratings for most,
a review task for every level 1–3 case, findings for one case in twenty, the sampling
record (`audit.sampled`) of every finished case; plus a busy
"today" (waiting and serving tickets, open tasks, open cases past their date) so the
live view has real work. Then it times the one-month report, the live view and the
staff evaluation in-process and through HTTP (the full page), and prints the plans'
index use. Targets: report < 500 ms, live view < 100 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "langzhong_bench"


def recreate_database(admin_url: str, name: str = BENCH_DB) -> str:
    """Drop and create the benchmark database `name`; return its URL."""
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


FILL_SQL = """
-- Tickets: one per case, PER_DAY a day from 2023-01-02, clerks and windows in turn.
INSERT INTO counters_ticket (service_date, queue, sequence, is_consultation, is_priority,
    applicant_id_digest, status, issued_at, called_at, finished_at, recall_count, clerk_id,
    item_id, window_id, earlier_cancellations, flagged_retake, priority_reason, public_token,
    requeue_count, site_id, agency_id)
SELECT start::date, 'A', (g %% %(per_day)s) + 1, false, false, md5('id' || (g %% 400000)),
    'done', start, start + interval '4 min', start + interval '13 min', 0,
    (%(clerks)s::int[])[1 + g %% cardinality(%(clerks)s::int[])],
    (%(items)s::bigint[])[1 + (g * 7) %% cardinality(%(items)s::bigint[])],
    (%(windows)s::bigint[])[1 + g %% cardinality(%(windows)s::bigint[])],
    0, false, '', md5('t' || g), 0, %(site)s, %(agency)s
FROM generate_series(0, %(cases)s - 1) AS g,
     LATERAL (SELECT timestamptz '2023-01-02 08:30+08' + (g / %(per_day)s) * interval '1 day'
                 + (g %% %(per_day)s) * (interval '9 hours' / %(per_day)s) AS start) AS t;

-- Cases from their tickets: level from the item; 5%% notified, 3%% forwarded, 2%% rejected.
INSERT INTO counters_case (number, guide_snapshot, risk_level, applicant_name,
    applicant_id_encrypted, applicant_id_digest, applicant_id_masked, checklist, status,
    review_round, current_step, accepted_at, due_date, finished_at, handler_id, item_id,
    ticket_id, applicant_phone, review_chain, step_hours, deferred_due,
    applicant_id_tail_digest, intake_token, agent_id_digest, agent_id_encrypted,
    agent_id_masked, agent_name, agent_relation, applicant_kind, employer_credit_code,
    employer_name, site_id, agency_id)
SELECT 'B' || t.id, '{}'::jsonb, i.risk_level, '张三', 'x', t.applicant_id_digest,
    '511381********0012', '[]'::jsonb,
    CASE WHEN t.id %% 20 = 0 THEN 'notified'
         WHEN NOT i.at_counter THEN 'forwarded'
         WHEN i.risk_level = 0 THEN 'finished'
         WHEN t.id %% 50 = 1 THEN 'rejected'
         ELSE 'approved' END,
    CASE WHEN i.risk_level > 0 AND i.at_counter THEN 1 ELSE 0 END, 0,
    t.called_at, t.service_date + 5,
    CASE WHEN t.id %% 20 = 0 OR NOT i.at_counter THEN NULL
         WHEN i.risk_level = 0 THEN t.finished_at
         ELSE t.finished_at + (t.id %% 9) * interval '1 day' END,
    t.clerk_id, t.item_id, t.id, '', '[]'::jsonb, 4, NULL,
    md5('tail' || t.applicant_id_digest), '', '', '', '', '', '', 'person', '', '',
    t.site_id, t.agency_id
FROM counters_ticket t JOIN catalog_serviceitem i ON i.id = t.item_id;

-- Ratings for nine services in ten; one in 400 is bad.
INSERT INTO counters_rating (sequence, level, reason, created_at, clerk_id, ticket_id, window_id,
    stage, site_id, agency_id)
SELECT 1, CASE WHEN id %% 400 = 7 THEN 2 WHEN id %% 8 = 0 THEN 4 ELSE 5 END,
    CASE WHEN id %% 400 = 7 THEN '等候时间较长' ELSE '' END,
    finished_at + interval '1 min', clerk_id, id, window_id, 'acceptance', site_id, agency_id
FROM counters_ticket WHERE id %% 10 <> 0;

INSERT INTO counters_followup (callback_due, reply_due, callback_at, callback_note, reply,
    replied_at, rating_id, review_note, status)
SELECT created_at::date + 1, created_at::date + 5, created_at + interval '1 day', '已回访',
    '已答复', created_at + interval '2 days', id, '', 'replied'
FROM counters_rating WHERE level < 3;

-- One decided review task per level 1-3 counter case.
INSERT INTO risk_reviewtask (review_round, step, role, attempt, status, created_at,
    assigned_at, due_at, decided_at, comment, assignee_id, case_id, agency_id)
SELECT 1, 1, 'review', 1, CASE WHEN c.status = 'rejected' THEN 'rejected' ELSE 'approved' END,
    c.accepted_at, c.accepted_at, c.accepted_at + interval '4 hours',
    c.accepted_at + (c.id %% 300) * interval '1 min',
    CASE WHEN c.status = 'rejected' THEN '不符' ELSE '' END,
    (%(deciders)s::int[])[1 + c.id %% cardinality(%(deciders)s::int[])], c.id, c.agency_id
FROM counters_case c WHERE c.review_round = 1;

-- Every finished case was considered for re-inspection once (audit.sampled), as the
-- continuous audit records it; chained after what is there, with placeholder hashes (a
-- bench database: its chain does not verify, the sequencer carries on after it).
INSERT INTO audit_auditevent (position, occurred_at, event_type, object_type, object_id,
    outcome, data, source_ip, request_id, prev_hash, hash, chained_at, agency_id)
SELECT (SELECT coalesce(max(position), 0) FROM audit_auditevent) + row_number() OVER (ORDER BY id),
    finished_at, 'audit.sampled', 'counters.case',
    id::text, 'success', jsonb_build_object('selected', id %% 20 = 0), NULL, '',
    repeat('0', 64), md5(id::text) || md5(id::text), finished_at, agency_id
FROM counters_case WHERE finished_at IS NOT NULL;

INSERT INTO audit_finding (rule, severity, evidence, dedupe_key, created_at, result,
    error_kind, comment, case_id)
SELECT CASE WHEN id %% 3 = 0 THEN 'finished_late' ELSE 'sample' END, 'low', '{}'::jsonb,
    'bench:' || id, accepted_at + interval '1 hour',
    CASE WHEN id %% 60 = 0 THEN 'error' ELSE 'no_issue' END,
    CASE WHEN id %% 60 = 0 THEN '材料审核不严' ELSE '' END, '', id
FROM counters_case WHERE id %% 20 = 0;
"""

TODAY_SQL = """
-- A busy morning today: 300 tickets (60 still waiting), 400 open tasks, 150 late cases.
INSERT INTO counters_ticket (service_date, queue, sequence, is_consultation, is_priority,
    applicant_id_digest, status, issued_at, called_at, finished_at, recall_count, clerk_id,
    item_id, window_id, earlier_cancellations, flagged_retake, priority_reason, public_token,
    requeue_count, site_id, agency_id)
SELECT current_date, 'A', 100000 + g, false, false, md5('today' || g),
    CASE WHEN g <= 60 THEN 'waiting' ELSE 'done' END,
    now() - (300 - g) * interval '1 min',
    CASE WHEN g > 60 THEN now() - (290 - g) * interval '1 min' END,
    CASE WHEN g > 60 THEN now() - (280 - g) * interval '1 min' END, 0,
    CASE WHEN g > 60 THEN (%(clerks)s::int[])[1 + g %% cardinality(%(clerks)s::int[])] END,
    (%(items)s::bigint[])[1 + g %% cardinality(%(items)s::bigint[])], NULL, 0, false, '',
    md5('today-t' || g), 0, %(site)s, %(agency)s
FROM generate_series(1, 300) AS g;

UPDATE counters_case SET status = 'in_review', finished_at = NULL, current_step = 1
WHERE id IN (SELECT id FROM counters_case WHERE review_round = 1 ORDER BY id DESC LIMIT 400);
UPDATE risk_reviewtask SET status = 'open', decided_at = NULL, due_at = now() - interval '1 hour'
WHERE case_id IN (SELECT id FROM counters_case WHERE status = 'in_review');
"""


def fill(cases: int, *, busy_today: bool = True) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from catalog.models import ServiceItem
    from counters.models import Window
    from sites.defaults import home_agency_id, home_site_id
    from staff.roles import Role

    users = get_user_model().objects
    params = {
        "cases": cases,
        "per_day": max(1, cases // 1095),
        "clerks": list(users.filter(groups__name=Role.CLERK).values_list("pk", flat=True)),
        "deciders": list(
            users.filter(groups__name=Role.REVIEWER).values_list("pk", flat=True).distinct()
        ),
        "items": list(ServiceItem.objects.values_list("pk", flat=True)),
        "windows": list(Window.objects.values_list("pk", flat=True)),
        # Every row at the home hall (the demo's and the benchmarks' one site).
        "site": home_site_id(),
        "agency": home_agency_id(),
    }
    with connection.cursor() as cursor:
        # The audit trigger and the audited managers guard the real tables; this is a
        # benchmark database filled by SQL on purpose.
        for statement in (FILL_SQL + (TODAY_SQL if busy_today else "")).split(";\n"):
            if statement.strip():
                started = time.monotonic()
                cursor.execute(statement, params)
                first_line = next(
                    line for line in statement.strip().splitlines() if not line.startswith("--")
                )
                print(f"  {time.monotonic() - started:6.1f} s  {first_line[:70]}")
        cursor.execute("ANALYZE")


def timed(function, *, repeat: int) -> tuple[float, float]:
    function()  # warm caches (the first query of a shape plans and reads from disk)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="reuse an already filled database")
    args = parser.parse_args()

    url = args.admin_url.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    if not args.keep:
        url = recreate_database(args.admin_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "langzhong_si.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the timed pages' request lines
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not args.keep:
        print(f"Building {BENCH_DB} with {args.cases:,} cases …")
        started = time.monotonic()
        call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        fill(args.cases)
        print(f"  built in {time.monotonic() - started:.0f} s")
    report_timings()


def report_timings() -> None:
    import datetime

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from counters.models import Case
    from evaluation.periods import Period, month_of
    from evaluation.selectors import hall_live, period_report, staff_evaluation
    from staff.roles import Role
    from tests.factories import sign_in

    month = month_of(datetime.date(2024, 6, 1))
    year = Period(datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    lead = get_user_model().objects.filter(groups__name=Role.TEAM_LEAD).first()
    client = Client()
    sign_in(client, lead)  # with the second factor confirmed, as the team lead would
    query = {"from": month.first.isoformat(), "to": month.last.isoformat()}

    def http(path, params=None):
        def get():
            response = client.get(path, params or {})
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")

        return get

    rows = [
        ("period report, one month (selector)", lambda: period_report(month), 500),
        ("period report, one month (HTTP page)", http("/reports/", query), 500),
        ("period report, one year (selector)", lambda: period_report(year), None),
        ("Excel export, one month (HTTP)", http("/reports/export.xlsx", query), None),
        ("live hall view (selector)", hall_live, 100),
        ("live hall view (HTTP fragment)", http("/lead/dashboard/live/"), 100),
        ("staff evaluation, one month (selector)", lambda: staff_evaluation(month), None),
        (
            "staff evaluation, one month (HTTP page)",
            http("/evaluation/", {"month": "2024-06"}),
            None,
        ),
    ]
    total = Case.objects.count()
    print(f"\nTimings over {total:,} cases (PostgreSQL {connection.pg_version // 10000}):")
    print(f"{'what':<42} {'median ms':>10} {'max ms':>8} {'queries':>8}  target")
    for label, function, target in rows:
        with CaptureQueriesContext(connection) as queries:
            function()
        # A page's own request closes the connection at its end: count selectors only.
        count = "-" if "HTTP" in label else str(len(queries))
        median, worst = timed(function, repeat=7)
        verdict = "" if target is None else (f"< {target} ms " + ("✓" if median < target else "✗"))
        print(f"{label:<42} {median:>10.1f} {worst:>8.1f} {count:>8}  {verdict}")


if __name__ == "__main__":
    main()

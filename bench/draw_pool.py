"""Draw latency with a large eligible pool (PostgreSQL).

    .venv/bin/python bench/draw_pool.py [--staff 5000] [--draws 200]

Creates the database `langzhong_draws` with `--staff` reviewers qualified to level 3
(bulk SQL for the staff rows: benchmarking only), then times `review_task_draw` — the
pool query with every exclusion, the HMAC choice and the recorded draw — for `--draws`
level-2 cases, and the pure choice function alone. Target: p99 < 10 ms.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAFF_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
    is_staff, is_active, date_joined)
SELECT '!', false, 'pool' || g, '', '', '', false, true, now()
FROM generate_series(1, %(staff)s) AS g;
INSERT INTO auth_user_groups (user_id, group_id)
SELECT u.id, g.id FROM auth_user u, auth_group g
WHERE u.username LIKE 'pool%%' AND g.name = 'reviewer';
INSERT INTO staff_staffprofile (user_id, display_name, employee_number, id_number_digest,
    window_team, availability)
SELECT id, username, 'P' || id, '', '', 'on_duty' FROM auth_user WHERE username LIKE 'pool%%';
INSERT INTO risk_qualification (user_id, kind, level, valid_from, reason, granted_at)
SELECT id, 'review', 3, current_date - 1, 'bench', now() FROM auth_user
WHERE username LIKE 'pool%%'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from bench.reports_1m import recreate_database

    os.environ["DATABASE_URL"] = recreate_database(args.admin_url, "langzhong_draws")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "langzhong_si.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from langzhong_si.celery import app

    app.conf.task_always_eager = False
    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    with connection.cursor() as cursor:
        for statement in STAFF_SQL.split(";\n"):
            cursor.execute(statement, {"staff": args.staff})
        cursor.execute("ANALYZE")

    from unittest import mock

    from cases import services as case_services
    from catalog.models import ServiceItem
    from counters import services
    from counters.models import Queue, Window
    from draws.choice import draw_choice_index, draw_message
    from risk.services import review_task_draw
    from staff.roles import Role
    from staff.services import staff_member_create

    clerk = staff_member_create(
        username="clerk",
        password="Bench-pass-1",  # noqa: S106 - throw-away benchmark database
        display_name="柜员",
        employee_number="G1",
        roles=[Role.CLERK],
    )
    window = Window.objects.create(number=1, zone="综合受理区", queue=Queue.HALL)
    services.window_sign_on(clerk=clerk, window_id=window.pk)
    item = ServiceItem.objects.filter(at_counter=True, risk_level=2).first()
    required = {m.pk for m in item.materials.all()}
    task_ids = []
    # The intake draws its reviewer itself; here it leaves the task awaiting its draw,
    # drawn below, timed.
    with mock.patch("risk.services._review_task_draw_locked", side_effect=lambda task: task):
        for n in range(args.draws):
            services.window_declare_ready(clerk=clerk)
            services.ticket_issue(item=item)
            first17 = f"51138119800101{n % 1000:03d}"
            from langzhong_si.identity import id_number_check_char

            case = case_services.case_accept(
                clerk=clerk,
                item_id=item.pk,
                applicant_name="压测",
                id_number=first17 + id_number_check_char(first17),
                received_material_ids=required,
            )
            services.ticket_finish(clerk=clerk)
            task_ids.append(case.tasks.get().pk)

    samples, queries = [], []
    for task_id in task_ids:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            review_task_draw(task_id=task_id)
            samples.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
    pool = list(range(args.staff))
    pure = []
    for n in range(2000):
        started = time.perf_counter()
        message = draw_message(
            day=datetime.date(2026, 1, 5), number=n, purpose="review", subject="bench", pool=pool
        )
        draw_choice_index(seed_hex="ab" * 32, message=message, pool_size=len(pool))
        pure.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    print(f"review draws over {args.staff:,} eligible reviewers, {len(samples)} draws:")
    print(
        f"  p50 {statistics.median(samples):.1f} ms, p95 {ordered[int(0.95 * len(ordered))]:.1f}"
        f" ms, p99 {ordered[int(0.99 * len(ordered)) - 1]:.1f} ms,"
        f" {statistics.median(queries):.0f} queries each (target p99 < 10 ms)"
    )
    print(f"  the choice alone (HMAC over the pool): p50 {statistics.median(pure):.3f} ms")


if __name__ == "__main__":
    main()

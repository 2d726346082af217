"""The busiest tables keep no index another one already gives: every case and review
task pays an entry in each of their indexes on its insert and on every status change."""

import pytest
from django.db import connection

from counters.models import Case
from risk.models import ReviewTask

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _indexes(table: str) -> dict[str, tuple[tuple[str, ...], bool, bool]]:
    """{index: (its columns in order, unique, partial)}; a column indexed with another
    than its type's default operator class (a LIKE index) is named with that class."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname,
                   array_agg(a.attname || CASE WHEN o.opcdefault THEN '' ELSE ' ' || o.opcname
                                         END ORDER BY k.n),
                   x.indisunique, x.indpred IS NOT NULL
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            CROSS JOIN LATERAL unnest(x.indkey::int2[], x.indclass::oid[])
                WITH ORDINALITY AS k(attnum, opclass, n)
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
            JOIN pg_opclass o ON o.oid = k.opclass
            WHERE x.indrelid = %s::regclass
            GROUP BY i.relname, x.indisunique, x.indpred
            """,
            [table],
        )
        return {name: (tuple(columns), unique, partial)
                for name, columns, unique, partial in cursor.fetchall()}  # fmt: skip


# Kept knowingly: dropping it through Django's AlterField(db_index=False) would drop the
# partial unique index on the same column too (one open task per case).
KEPT = {"risk_reviewtask_case_id_6672c6de"}


@pytest.mark.parametrize("model", [Case, ReviewTask])
def test_no_plain_index_of_a_busy_table_is_the_start_of_another(model):
    indexes = _indexes(model._meta.db_table)
    covered = [
        (name, other)
        for name, (columns, unique, partial) in indexes.items()
        if not unique and not partial and name not in KEPT
        for other, (longer, _unique, other_partial) in indexes.items()
        if other != name and not other_partial and longer[: len(columns)] == columns
    ]
    assert covered == []


def test_the_database_still_holds_a_case_to_one_open_task():
    assert _indexes(ReviewTask._meta.db_table)["risk_task_one_open_per_case"] == (
        ("case_id",),
        True,
        True,
    )


@pytest.mark.parametrize(
    ("model", "column"),
    [(Case, "handler_id"), (ReviewTask, "case_id"), (ReviewTask, "assignee_id")],
)
def test_the_keys_without_their_own_index_are_still_found_by_an_index(model, column):
    starts = [columns[0] for columns, _unique, partial in _indexes(model._meta.db_table).values()
              if not partial]  # fmt: skip
    assert column in starts

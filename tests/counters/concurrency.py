"""Helpers for the PostgreSQL concurrency tests of the hall: work left open in another
connection's transaction while the test goes on in its own."""

import threading
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def held_open(work, *, timeout: float = 20):
    """Run `work()` in a transaction of another connection (a thread), and keep that
    transaction open, its locks held, while the block runs; yields what `work` returned.
    Inside the block this connection waits at most 2 s for a lock, then raises."""
    result, done, release, errors = [], threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                result.append(work())
                done.set()
                release.wait(timeout=timeout)
        except Exception as error:  # noqa: BLE001 - raised in the test below
            errors.append(error)
            done.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    done.wait(timeout=timeout)
    try:
        assert result, errors
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # blocked would raise, not hang
        yield result[0]
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert errors == []

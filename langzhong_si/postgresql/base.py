"""Django's PostgreSQL backend, its connection's health checked without a query.

With persistent connections and CONN_HEALTH_CHECKS (settings), Django checks a kept
connection at the first query of each request by sending `SELECT 1` and waiting for the
answer: a round trip on every request that reads anything (most of the hall's polls read
one row: the check was half their database work). A server that ends a session (a
restart, a fail-over, an administrator's pg_terminate_backend, an idle timeout) says so
on the connection before it closes it, so a connection with nothing to read is as alive
as the check would find it: only then is it taken without asking. Anything to read (the
server's goodbye, the end of the connection, a notice) or a connection already closed
gets Django's own check. A link cut without a word from either end (a cable pulled) is
found by neither check before the TCP timeout, this one or Django's."""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed:
            return False
        try:
            readable, _writable, _failed = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # no longer a socket
            return False
        return not readable or super().is_usable()

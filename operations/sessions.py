"""Django's database sessions, read with one written-out statement on PostgreSQL (as
operations.cache reuses its Redis client: CPU per request).

Every signed-in request reads its session; building that look-up through the ORM cost
more CPU (0.3 ms) than running it. The same row, the same condition (the key, not yet
expired) and the same result as django.contrib.sessions.backends.db; writes, and every
other database, are Django's own."""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        using = router.db_for_read(self.model)
        connection = connections[using]
        if connection.vendor != "postgresql" or not self.session_key:
            return super()._get_session_from_db()
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data, expire_date FROM {table}"  # noqa: S608 - the model's table
                " WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does for a missing session
            return None
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])

"""Django's database sessions, remembered in the shared cache for a few seconds and read
with one written-out statement on PostgreSQL (as operations.cache reuses its Redis
client: CPU per request).

Every signed-in request reads its session: the unchanged polls of the inbox most of all
(operations.pollpath). The row stays the record: every write goes to it first, and only
then to the cache. A read takes the cache's copy when there is one, and otherwise the
row (the same row, the same condition, the key and not yet expired, and the same result
as django.contrib.sessions.backends.db), remembering it for SESSION_CACHE_SECONDS at
most (never past the session's expiry). Where the cache is not shared by every web
process (no CACHE_URL: each process has its own), SESSION_CACHE_SECONDS is 0 and
nothing is remembered.

A session ended (sign-out, a new key at sign-in, flush) leaves a tombstone in the cache
for as long as a copy could live, and a read remembers what it read only where nothing
is there yet (cache.add): a request that read the row just before the session ended
cannot bring it back, and one that read it just before a save cannot put the old data
over the new. Nothing else ends a session early: a disabled account, a new password or
the account checks (staff.middleware) refuse it at the next request, whatever its copy
says, because the account is read afresh on every request. The cache's key is a digest
of the session's key, so the cache never holds a key that signs anyone in."""

import hashlib
import logging

from django.conf import settings
from django.contrib.sessions.backends import db
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import connections, router
from django.utils import timezone

_ENDED = "ended"
logger = logging.getLogger("operations.sessions")


def _cache_key(session_key: str) -> str:
    return "session:" + hashlib.sha256(session_key.encode()).hexdigest()


class SessionStore(db.SessionStore):
    def load(self):
        seconds = settings.SESSION_CACHE_SECONDS
        if not seconds or not self.session_key:
            return super().load()
        cache = caches[DEFAULT_CACHE_ALIAS]
        key = _cache_key(self.session_key)
        try:
            data = cache.get(key)
        except Exception:  # the cache is down: the row answers, and nothing is remembered
            logger.warning("session cache unavailable; read from the database", exc_info=True)
            return super().load()
        if data == _ENDED:
            self._session_key = None  # as a missing row leaves it
            return {}
        if data is not None:
            return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        timeout = min(seconds, self.get_expiry_age(expiry=row.expire_date))
        if timeout > 0:
            cache.add(key, data, timeout)
        return data

    def save(self, must_create=False):
        super().save(must_create)
        seconds = settings.SESSION_CACHE_SECONDS
        if not seconds:
            return
        timeout = min(seconds, self.get_expiry_age())
        try:
            caches[DEFAULT_CACHE_ALIAS].set(_cache_key(self.session_key), self._session, timeout)
        except Exception:
            # As Django's cached_db: the row holds the change. A copy left older than it
            # lacks only what this save added (a later activity time, a confirmed second
            # factor), each of which asks for more, never less, of the person.
            logger.exception("session cache unavailable; the session was saved without it")

    def delete(self, session_key=None):
        super().delete(session_key)
        session_key = session_key or self.session_key
        seconds = settings.SESSION_CACHE_SECONDS
        if seconds and session_key:
            # Not caught: a sign-out the cache did not take fails where it is seen.
            caches[DEFAULT_CACHE_ALIAS].set(_cache_key(session_key), _ENDED, seconds)

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

"""Django's database sessions, remembered in the shared cache for a few seconds and read
with one written-out statement on PostgreSQL (as operations.cache reuses its Redis
client: CPU per request).

Every signed-in request reads its session: the unchanged polls of the inbox most of all
(operations.pollpath). The row stays the record. A read takes the cache's copy when
there is one, and otherwise the row (the same row, the same condition, the key and not
yet expired, and the same result as django.contrib.sessions.backends.db), which it
remembers for SESSION_CACHE_SECONDS at most (never past the session's expiry). Where the
cache is not shared by every web process (no CACHE_URL: each process has its own),
SESSION_CACHE_SECONDS is 0 and nothing is remembered.

Only a read puts a copy in the cache, and only where nothing is there (cache.add). A
save changes the row first, then leaves a mark in the copy's place for two seconds,
under which reads take the row and remember nothing: a request that read the row just
before a save cannot put the old data over the new (unless it took longer than that
from the row to the cache, and then only the older data: an earlier activity time, a
second factor not yet confirmed, each asking more of the person, never less). An ending
(a sign-out, the old key of a new sign-in) leaves a mark of its own, under a key no save
writes, before the row goes, for twice a copy's life: no copy is taken while it stands,
whoever stored it, and the copy and the mark are read in one round trip. Nothing else
ends a session early: a disabled account, a new password or the account checks
(staff.middleware) refuse it at the next request whatever its copy says, because the
account is read afresh on every request (an unchanged poll's empty answer excepted: it may
take the account's own copy, which every change made through the models marks at once:
operations.pollpath). The cache's keys are digests of the session's
key: the cache holds no key a cookie could carry (though whoever can write to it can
write a copy, as they can write anything the cache holds). Redis only, because there
cache.add is atomic. With the cache down, sessions are read from their rows and
nothing is remembered.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.sessions.backends import db
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import connections, router
from django.utils import timezone

from langzhong_si.compiled import read_as_health_check

_SAVED = "saved"  # a save's mark, where the copy would be (the docstring above)
_SAVED_MARK_SECONDS = 2
logger = logging.getLogger("operations.sessions")


def _cache_keys(session_key: str) -> tuple[str, str]:
    """The keys of a session's copy and of its ending's mark."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()
    return f"session:{digest}", f"session-ended:{digest}"


class SessionStore(db.SessionStore):
    # Other cache keys the read of the copy takes along in its round trip (set before the
    # session is first read: operations.pollpath, the poll's version and its person's
    # account copy), and what it found of them (read_along_found, by key; empty when the
    # cache was not asked).
    read_along: tuple[str, ...] = ()

    def load(self):
        self.read_along_found = {}
        seconds = settings.SESSION_CACHE_SECONDS
        if not seconds or not self.session_key:
            return super().load()
        cache = caches[DEFAULT_CACHE_ALIAS]
        copy_key, ended_key = _cache_keys(self.session_key)
        along = [key for key in self.read_along if key not in (copy_key, ended_key)]
        try:
            found = cache.get_many([copy_key, ended_key, *along])  # one round trip
        except Exception:  # the cache is down: the row answers, and nothing is remembered
            logger.warning("session cache unavailable; read from the database", exc_info=True)
            return super().load()
        self.read_along_found = {key: found.pop(key) for key in along if key in found}
        copy = found.get(copy_key)
        if isinstance(copy, dict) and ended_key not in found:
            return copy
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        timeout = min(seconds, self.get_expiry_age(expiry=row.expire_date))
        if not found and timeout > 0:  # no copy, no mark: remembered, if still so
            try:
                cache.add(copy_key, data, timeout)
            except Exception:
                logger.warning("session cache unavailable; not remembered", exc_info=True)
        return data

    def save(self, must_create=False):
        super().save(must_create)
        seconds = settings.SESSION_CACHE_SECONDS
        if seconds and self.session_key:
            copy_key, _ended_key = _cache_keys(self.session_key)
            try:
                caches[DEFAULT_CACHE_ALIAS].set(copy_key, _SAVED, min(seconds, _SAVED_MARK_SECONDS))
            except Exception:
                # The row holds the change; a copy left behind holds only older data (an
                # earlier activity time, a second factor not yet confirmed), each of
                # which asks more of the person, never less.
                logger.warning("session cache unavailable; a copy may lag", exc_info=True)

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        seconds = settings.SESSION_CACHE_SECONDS
        if seconds and session_key:
            # Marked before the row goes: a read in between takes the row, remembering
            # nothing. Twice a copy's life: a read that took the row just before it and
            # stored its copy just after cannot outlast the mark.
            try:
                caches[DEFAULT_CACHE_ALIAS].set(_cache_keys(session_key)[1], 1, 2 * seconds)
            except Exception:
                # Signed out all the same (the row goes, and the cookie): a cache that
                # missed this and comes back within SESSION_CACHE_SECONDS may still hold
                # a copy; logged as an error for that.
                logger.error(
                    "session cache unavailable; a copy may outlive its sign-out", exc_info=True
                )
        super().delete(session_key)

    def _get_session_from_db(self):
        using = router.db_for_read(self.model)
        connection = connections[using]
        if connection.vendor != "postgresql" or not self.session_key:
            return super()._get_session_from_db()
        table = connection.ops.quote_name(self.model._meta.db_table)

        def read():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT session_data, expire_date FROM {table}"  # noqa: S608 - the model's table
                    " WHERE session_key = %s AND expire_date > %s",
                    [self.session_key, timezone.now()],
                )
                return cursor.fetchone()

        row = read_as_health_check(connection, read)  # a request's first read, often
        if row is None:
            self._session_key = None  # as Django's store does for a missing session
            return None
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])

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
write changes the row first, then leaves a mark in the copy's place, under which every
read takes the row and remembers nothing: for SESSION_CACHE_SECONDS where the session
ended (a sign-out, the old key of a new sign-in; a save does not shorten that), for two
seconds where it was saved. A
request that read the row just before a sign-out cannot bring the session back, nor
one that read it just before a save put the old data over the new (unless it took
longer than the save's mark from the row to the cache, and then only the older data:
an earlier activity time, a second factor not yet confirmed, each asking more of the
person, never less). Nothing else ends a session early: a disabled account, a new
password or the account checks (staff.middleware) refuse it at the next request
whatever its copy says, because the account is read afresh on every request. The
cache's key is a digest of the session's key: the cache holds no key that signs anyone
in.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.sessions.backends import db
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import connections, router
from django.utils import timezone

# The marks a write leaves where a copy could be (operations.sessions' docstring).
_ENDED, _SAVED = "ended", "saved"
_SAVED_MARK_SECONDS = 2
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
            found = cache.get(key)
        except Exception:  # the cache is down: the row answers, and nothing is remembered
            logger.warning("session cache unavailable; read from the database", exc_info=True)
            return super().load()
        if isinstance(found, dict):
            return found
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        timeout = min(seconds, self.get_expiry_age(expiry=row.expire_date))
        if found is None and timeout > 0:  # not changed of late: remembered, if still so
            cache.add(key, data, timeout)
        return data

    def save(self, must_create=False):
        super().save(must_create)
        self._changed(self.session_key, ended=False)

    def delete(self, session_key=None):
        super().delete(session_key)
        self._changed(session_key or self.session_key, ended=True)

    @staticmethod
    def _changed(session_key, *, ended: bool) -> None:
        """The row just changed (or went): for a while every read takes the row and
        remembers nothing, so a read that took the row before the change cannot put
        back what it took. An ended session's mark lasts as long as a copy could, and a
        save does not shorten it; a save's lasts _SAVED_MARK_SECONDS (a read takes well
        under a second from its row to the cache, and a person's own requests save
        their session once a minute). Not caught: a change the cache did not take fails
        where it is seen, rather than leave an ended session's copy behind."""
        seconds = settings.SESSION_CACHE_SECONDS
        if not seconds or not session_key:
            return
        cache, key = caches[DEFAULT_CACHE_ALIAS], _cache_key(session_key)
        if ended:
            cache.set(key, _ENDED, seconds)
        elif cache.get(key) != _ENDED:
            cache.set(key, _SAVED, min(seconds, _SAVED_MARK_SECONDS))

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

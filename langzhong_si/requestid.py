"""The request id that ties a request's log line, its Celery tasks and its audit events
together. A proxy's X-Request-ID is kept only if it is plainly an id: letters, digits,
dot, underscore, hyphen, at most 64 characters. Anything else (a log-injection attempt, a
name, an ID number) is replaced by a fresh random id. Common code: it imports no app."""

import re
import uuid

REQUEST_ID_MAX_LENGTH = 64
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# An 18-character resident ID number looks like a safe id; it must never become one.
_ID_NUMBER_LIKE = re.compile(r"\d{17}[\dXx]")


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_accept(raw: str | None) -> str:
    """`raw` if it is a safe request id, else a new one."""
    if raw and _SAFE_REQUEST_ID.fullmatch(raw) and not _ID_NUMBER_LIKE.search(raw):
        return raw
    return request_id_new()

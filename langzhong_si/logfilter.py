"""Logs never carry a full ID number, a password, a one-time code or a session id
(req. 19): every record is scrubbed before any handler writes it."""

import logging
import re

from django.core.exceptions import PermissionDenied

# 18-character resident ID numbers (the last may be X), anywhere in a message.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
SECRET_FIELD = re.compile(
    r"(?i)\b(password\d?|passwd|otp|code|token|sessionid|csrftoken|secret)(['\"]?\s*[:=]\s*['\"]?)"
    r"([^\s'\",;&]+)"
)


def scrub(text: str) -> str:
    text = ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)[-1:]}", text)
    return SECRET_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}[removed]", text)


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RefusalFilter(logging.Filter):
    """A refusal is the system working as meant: Django logs every PermissionDenied
    ("Forbidden (Permission denied): /path") with its traceback, which buries real
    errors in the log. The line stays (who was refused where is worth seeing); the
    traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PermissionDenied):
            record.exc_info, record.exc_text = None, None
        return True

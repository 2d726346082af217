"""One JSON object per log line, for the agency's log collector.

Every line carries the request id of the request or task it belongs to. Every string in
it passes the personal-data scrubber (langzhong_si.logfilter) as the plain format's
message does: no full ID number, password, one-time code or session id ever reaches
the log, whatever field it hides in."""

import datetime
import json
import logging

from audit.context import current_request_context
from langzhong_si.logfilter import scrub

# Extra fields a log call may add (`extra={...}`); anything else stays out of the line.
FIELDS = (
    "event",
    "method",
    "route",
    "view",
    "status",
    "duration_ms",
    "user_id",
    "task",
    "task_id",
    "outcome",
)


def _clean(value):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": _clean(record.getMessage()),
            # A request's own line is written after its context ended: it names its id.
            "request_id": getattr(record, "request_id", None)
            or current_request_context().request_id
            or None,
        }
        for field in FIELDS:
            if hasattr(record, field):
                line[field] = _clean(getattr(record, field))
        if record.exc_info:
            line["exception"] = _clean(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)

"""How a report leaves the system: `http` (a JSON POST to the platform, signed) or `file`
(a JSON line dropped into a directory that a gateway carries over). Each returns a
Result; neither raises for a failure of the far side. The transport is chosen by
REPORTING_TRANSPORT; a test or a deployment may add its own with the same method."""

import datetime
import hashlib
import hmac
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Result:
    """What one attempt came to. `retry`: a failure that may pass (time-out, 5xx, no
    connection); a failure without it is final (the platform refused the report)."""

    delivered: bool
    acknowledged_id: str = ""
    status_code: int | None = None
    error: str = ""
    retry: bool = False


def body_bytes(payload: dict) -> bytes:
    """The one serialisation of a payload: every attempt sends the same bytes."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def request_signature(*, key: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over the timestamp, a dot and the body, hex: what X-Report-Signature
    carries (after "sha256="). The platform recomputes it with the shared key and refuses
    a stale timestamp, so a captured request cannot be replayed later or altered."""
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# Client errors that are worth another try: the platform's time-out and its rate limit.
_RETRIED_CLIENT_ERRORS = {408, 425, 429}


class HttpTransport:
    name = "http"

    def send(self, *, platform: str, key: str, payload: dict) -> Result:
        url = settings.REPORTING_URLS[platform]
        body = body_bytes(payload)
        timestamp = str(int(time.time()))
        signature = request_signature(
            key=settings.REPORTING_SIGNING_KEY, timestamp=timestamp, body=body
        )
        request = urllib.request.Request(  # noqa: S310 - settings allow http(s) URLs only
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": key,
                # The agency's own sender id, as in the body (payloads.sender_id).
                "X-Report-Sender": payload.get("sender") or settings.REPORTING_SENDER_ID,
                "X-Report-Timestamp": timestamp,
                "X-Report-Signature": f"sha256={signature}",
            },
        )
        timeout = settings.REPORTING_TIMEOUT_SECONDS
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                code, answer = response.status, response.read(65536)
        except urllib.error.HTTPError as error:
            code = error.code
            detail = error.read(300).decode("utf-8", "replace")
            retry = code >= 500 or code in _RETRIED_CLIENT_ERRORS
            return Result(False, status_code=code, error=f"HTTP {code}: {detail}", retry=retry)
        except TimeoutError:
            return Result(False, error=f"no answer within {timeout} s", retry=True)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return Result(False, error=f"not reachable: {reason}", retry=True)
        try:
            acknowledged = json.loads(answer or b"{}").get("ack_id", "")
        except (ValueError, AttributeError):
            acknowledged = ""
        return Result(True, acknowledged_id=str(acknowledged)[:128], status_code=code)


class FileDropTransport:
    """One file per delivery, `<platform>/<day>/<key>.jsonl` under REPORTING_FILE_DIR,
    holding one JSON line. Written to a temporary file in the same directory, flushed to
    disk and renamed into place, so a reader never sees half a line and a repeated
    attempt replaces the file with the same content (the key names it)."""

    name = "file"

    def send(self, *, platform: str, key: str, payload: dict) -> Result:
        day = datetime.date.today().strftime("%Y%m%d")  # noqa: DTZ011 - a folder name only
        folder = Path(settings.REPORTING_FILE_DIR) / platform / day
        target = folder / f"{_file_name(key)}.jsonl"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(body_bytes(payload) + b"\n")
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            return Result(False, error=f"cannot write {target}: {error}", retry=True)
        return Result(True)


def _file_name(key: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in key)


TRANSPORTS = {"http": HttpTransport, "file": FileDropTransport}


def transport_current():
    """The configured transport, or None when reporting is off."""
    kind = settings.REPORTING_TRANSPORT
    return TRANSPORTS[kind]() if kind in TRANSPORTS else None

"""The electronic social-security card's QR code (电子社保卡二维码): a citizen shows it on
their phone, the scanner reads its text, and a verifier decides whose card it is. The
verifier is pluggable (settings.ESSC_QR_VERIFIER): in production the provincial
platform's service, which alone can tell a genuine, current code; in the demo and the
tests the device simulator's own codes, signed with HMAC-SHA256 under ESSC_DEMO_KEY.
An unverifiable code is refused: nothing from it is used."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from langzhong_si.identity import id_number_validate

# Longer than any QR code the platforms issue (a few hundred characters).
PAYLOAD_MAX_LENGTH = 2000
# The simulator's codes: "ESSC1.<base64url JSON {id, name, exp}>.<hex HMAC-SHA256>"
DEMO_PREFIX = "ESSC1"


@dataclass(frozen=True)
class CardHolder:
    """Whose card a verified code is: only what fills the intake."""

    id_number: str
    name: str


class QrUnverifiable(ValidationError):
    """The code cannot be shown to be a current electronic social-security card."""


class QrVerifier:
    def verify(self, payload: str) -> CardHolder:
        raise NotImplementedError


def _refuse(code: str = "essc_unverifiable") -> QrUnverifiable:
    return QrUnverifiable(
        _(
            "This QR code could not be verified as an electronic social-security card. "
            "Ask the citizen to refresh the code in their app, or use the ID card."
        ),
        code=code,
    )


def demo_payload(*, id_number: str, name: str, expires_at: float, key: str) -> str:
    """A code as the simulator's scanner reads it (devices/bridge/simulator.py)."""
    body = json.dumps({"id": id_number, "name": name, "exp": int(expires_at)}, ensure_ascii=False)
    encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    signature = hmac.new(key.encode(), f"{DEMO_PREFIX}.{encoded}".encode(), hashlib.sha256)
    return f"{DEMO_PREFIX}.{encoded}.{signature.hexdigest()}"


class SimulatorQrVerifier(QrVerifier):
    """The device simulator's codes: the HMAC must match under ESSC_DEMO_KEY and the code
    must not have expired (the simulator's codes live a few minutes, like the real
    ones). Refused in production by the settings."""

    def verify(self, payload: str) -> CardHolder:
        prefix, _dot, rest = payload.partition(".")
        encoded, _dot, signature = rest.partition(".")
        if prefix != DEMO_PREFIX or not encoded or not signature:
            raise _refuse()
        expected = hmac.new(
            settings.ESSC_DEMO_KEY.encode(), f"{prefix}.{encoded}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise _refuse()
        try:
            body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            expires_at, id_number, name = int(body["exp"]), str(body["id"]), str(body["name"])
        except (ValueError, KeyError, TypeError):
            raise _refuse() from None
        if expires_at < time.time():
            raise QrUnverifiable(
                _("This QR code has expired. Ask the citizen to refresh it in their app."),
                code="essc_expired",
            )
        return CardHolder(id_number=id_number_validate(id_number), name=name[:64])


class PlatformQrVerifier(QrVerifier):
    """The provincial social-security platform's verification service (production).

    A skeleton to complete with the platform's interface document: it POSTs the code,
    with the agency's app id and a signature of the request under the app secret, to
    ESSC_PLATFORM_URL and expects `{"valid": true, "id_number": ..., "name": ...}`.
    Unconfigured, unreachable, or any other answer: refused (never accepted by default).
    """

    def verify(self, payload: str) -> CardHolder:
        url = settings.ESSC_PLATFORM_URL
        if not url or urlsplit(url).scheme != "https":
            raise _refuse("essc_not_configured")
        timestamp = str(int(time.time()))
        body = json.dumps(
            {"appId": settings.ESSC_PLATFORM_APP_ID, "qrCode": payload, "timestamp": timestamp}
        ).encode()
        signature = hmac.new(
            settings.ESSC_PLATFORM_APP_SECRET.encode(), body, hashlib.sha256
        ).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - https only, checked above
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - https only, checked above
                request, timeout=settings.ESSC_PLATFORM_TIMEOUT_SECONDS
            ) as response:
                answer = json.loads(response.read(65536))
        except (OSError, ValueError):
            raise _refuse("essc_platform_unreachable") from None
        if not isinstance(answer, dict) or answer.get("valid") is not True:
            raise _refuse()
        return CardHolder(
            id_number=id_number_validate(str(answer.get("id_number", ""))),
            name=str(answer.get("name", ""))[:64],
        )


def essc_qr_verify(payload: str) -> CardHolder:
    """Verify a scanned code with the configured verifier; raises QrUnverifiable."""
    payload = (payload or "").strip()
    if not payload or len(payload) > PAYLOAD_MAX_LENGTH:
        raise _refuse()
    try:
        return import_string(settings.ESSC_QR_VERIFIER)().verify(payload)
    except QrUnverifiable:
        raise
    except ValidationError:  # e.g. the ID number inside does not check
        raise _refuse() from None

"""The interface every device driver implements. Methods are plain (blocking) calls, as
vendors' SDKs are: the server runs each in a worker thread, one call per device at a
time, and answers the page when it returns. A method raises DeviceError with one of the
protocol's error codes when it cannot answer."""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass


class ErrorCode:
    BAD_REQUEST = "bad_request"  # not JSON, no id, a parameter of the wrong type
    UNKNOWN_OP = "unknown_op"
    NO_DEVICE = "no_device"  # this machine has no such device (or it is unplugged)
    NO_CARD = "no_card"  # nothing on the reader / no code in front of the scanner
    TIMEOUT = "timeout"  # the citizen did not sign, show or place anything in time
    CANCELLED = "cancelled"  # the citizen pressed cancel on the pad
    DEVICE_ERROR = "device_error"  # the device answered with an error


class DeviceError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code
        self.message = message or code


@dataclass(frozen=True)
class IdCard:
    """What a second-generation resident ID card (居民身份证) holds, as the reader
    returns it. Dates are ISO (YYYY-MM-DD); `valid_to` is "长期" for a card without end."""

    name: str
    sex: str  # 男 / 女, as printed on the card
    ethnicity: str  # 民族, e.g. 汉
    birth_date: str
    address: str
    id_number: str
    photo_jpeg: bytes
    valid_from: str
    valid_to: str
    issuer: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("photo_jpeg")
        return data


class DeviceDriver(abc.ABC):
    """One machine's devices. `devices()` says which are present (the page hides what is
    missing); each capture method blocks until it has a result or raises DeviceError."""

    name = "driver"

    @abc.abstractmethod
    def devices(self) -> dict[str, bool]:
        """{"card_reader": bool, "qr_scanner": bool, "signature_pad": bool,
        "document_camera": bool}"""

    @abc.abstractmethod
    def read_card(self) -> IdCard:
        """Read the ID card on the reader (NO_CARD when there is none)."""

    @abc.abstractmethod
    def scan_qr(self, *, timeout: float) -> str:
        """Wait up to `timeout` seconds for a code and return its text."""

    @abc.abstractmethod
    def capture_signature(self, *, timeout: float, prompt: str) -> bytes:
        """Show `prompt` on the pad, wait for the citizen to sign and confirm; a PNG."""

    @abc.abstractmethod
    def capture_document(self) -> bytes:
        """Photograph the page under the document camera; a JPEG."""

    def watch_cards(self, placed) -> None:  # noqa: B027 - optional, a no-op by default
        """Drivers whose reader reports a card being placed call `placed()` from any
        thread; the server then sends the page a `card.placed` event."""

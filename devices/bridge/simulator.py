"""The reference driver: every device simulated, for the demo and the tests. Four fake
citizens of Langzhong (valid ID numbers, photos drawn with Pillow); the "card on the
reader" is the first until `sim.place_card` puts another there; the QR scanner reads the
current citizen's electronic social-security card, signed with the demo key and valid
for five minutes; the pad returns a drawn signature, the camera a drawn page."""

from __future__ import annotations

import io
import math
import time

from PIL import Image, ImageDraw

from devices.bridge.drivers import DeviceDriver, DeviceError, ErrorCode, IdCard
from devices.essc import demo_payload

# Fake citizens: 511381 is Langzhong; the check characters are correct (GB 11643).
CITIZENS = [
    {
        "name": "张建国",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1978-03-12",
        "address": "四川省阆中市保宁街道张飞南路12号",
        "id_number": "511381197803122018",
        "valid_from": "2016-05-20",
        "valid_to": "2036-05-20",
        "colour": (70, 110, 160),
    },
    {
        "name": "李秀英",
        "sex": "女",
        "ethnicity": "汉",
        "birth_date": "1985-11-07",
        "address": "四川省阆中市七里街道滨江北路88号3单元2楼",
        "id_number": "511381198511073028",
        "valid_from": "2019-08-01",
        "valid_to": "2039-08-01",
        "colour": (150, 80, 100),
    },
    {
        "name": "王德福",
        "sex": "男",
        "ethnicity": "回",
        "birth_date": "1956-06-21",
        "address": "四川省阆中市江南街道白塔路5号",
        "id_number": "511381195606214010",
        "valid_from": "2012-03-15",
        "valid_to": "长期",
        "colour": (90, 90, 90),
    },
    {
        "name": "杨小燕",
        "sex": "女",
        "ethnicity": "藏",
        "birth_date": "2001-09-15",
        "address": "四川省阆中市沙溪街道文成路21号",
        "id_number": "511381200109155025",
        "valid_from": "2021-10-09",
        "valid_to": "2031-10-09",
        "colour": (60, 140, 110),
    },
]
QR_LIFETIME_SECONDS = 300


def card_photo(index: int) -> bytes:
    """A 102 × 126 JPEG like the card's photo: a plain background, a head and shoulders
    in the citizen's colour (no real face)."""
    colour = CITIZENS[index]["colour"]
    image = Image.new("RGB", (102, 126), (235, 240, 248))
    draw = ImageDraw.Draw(image)
    draw.ellipse((14, 92, 88, 160), fill=colour)  # shoulders
    draw.ellipse((30, 22, 72, 72), fill=(238, 200, 170))  # face
    draw.chord((28, 14, 74, 56), 180, 360, fill=(40, 30, 25))  # hair
    draw.ellipse((40, 42, 45, 47), fill=(40, 30, 25))
    draw.ellipse((57, 42, 62, 47), fill=(40, 30, 25))
    draw.arc((43, 52, 59, 62), 20, 160, fill=(150, 70, 60), width=2)
    output = io.BytesIO()
    image.save(output, "JPEG", quality=85)
    return output.getvalue()


def signature_png(name: str = "") -> bytes:
    """A signature-like stroke on a transparent 480 × 160 pad, as pads deliver it."""
    image = Image.new("RGBA", (480, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    seed = sum(ord(c) for c in name) or 7
    points = []
    for step in range(0, 400, 3):
        x = 40 + step
        y = (
            80
            + 32 * math.sin(step / (18 + seed % 7)) * math.cos(step / 53)
            + 10 * math.sin(step / 5.0)
        )
        points.append((x, y))
    draw.line(points, fill=(10, 20, 60, 255), width=4, joint="curve")
    draw.line([(60, 125), (420, 118)], fill=(10, 20, 60, 255), width=3)
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


def document_jpeg(number: int = 1) -> bytes:
    """A photographed A4 page: a heading bar, lines of "text", a stamp."""
    image = Image.new("RGB", (850, 1100), (250, 249, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 90, 730, 130), fill=(60, 60, 60))
    for row in range(24):
        y = 200 + row * 32
        width = 610 if row % 6 != 5 else 300
        draw.rectangle((120, y, 120 + width, y + 10), fill=(150, 150, 150))
    draw.ellipse((560, 880, 720, 1040), outline=(200, 30, 30), width=6)
    draw.text((125, 1060), f"page {number}", fill=(90, 90, 90))
    output = io.BytesIO()
    image.save(output, "JPEG", quality=80)
    return output.getvalue()


class SimulatorDriver(DeviceDriver):
    name = "simulator"

    def __init__(self, *, qr_key: str):
        self.qr_key = qr_key
        self.card_index: int | None = 0
        self.pages = 0

    def devices(self) -> dict[str, bool]:
        return {
            "card_reader": True,
            "qr_scanner": True,
            "signature_pad": True,
            "document_camera": True,
        }

    def place_card(self, index: int | None) -> None:
        if index is not None and not 0 <= index < len(CITIZENS):
            raise DeviceError(ErrorCode.BAD_REQUEST, f"card index 0-{len(CITIZENS) - 1}")
        self.card_index = index

    def read_card(self) -> IdCard:
        if self.card_index is None:
            raise DeviceError(ErrorCode.NO_CARD, "no card on the reader")
        citizen = CITIZENS[self.card_index]
        return IdCard(
            **{key: value for key, value in citizen.items() if key != "colour"},
            photo_jpeg=card_photo(self.card_index),
            issuer="阆中市公安局",
        )

    def scan_qr(self, *, timeout: float) -> str:
        if self.card_index is None:
            raise DeviceError(ErrorCode.TIMEOUT, "no code was shown")
        citizen = CITIZENS[self.card_index]
        return demo_payload(
            id_number=citizen["id_number"],
            name=citizen["name"],
            expires_at=time.time() + QR_LIFETIME_SECONDS,
            key=self.qr_key,
        )

    def capture_signature(self, *, timeout: float, prompt: str) -> bytes:
        name = CITIZENS[self.card_index or 0]["name"]
        return signature_png(name)

    def capture_document(self) -> bytes:
        self.pages += 1
        return document_jpeg(self.pages)

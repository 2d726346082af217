"""The device bridge's protocol (README, "Hall devices") against the simulator, started
in-process on a free port and spoken to as a page would: one answer per request, errors
with codes, events, and only the allowed origins."""

import asyncio
import base64
import io
import json

import pytest
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from devices.bridge.server import BridgeServer
from devices.bridge.simulator import CITIZENS, SimulatorDriver
from devices.essc import SimulatorQrVerifier

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def bridge():
    server = BridgeServer(SimulatorDriver(qr_key="test-key"), origins=[ORIGIN])
    port = server.start_in_thread(port=0)
    yield f"ws://127.0.0.1:{port}", server
    server.stop_thread()


def _exchange(url, *messages, origin=ORIGIN, events=0):
    """Send each request and wait for its answer (in order); then for `events` events.
    Events that arrive meanwhile are kept, after the answers."""

    async def run():
        async with connect(url, origin=origin) as socket:
            answers, seen_events = [], []
            for message in messages:
                await socket.send(message if isinstance(message, str) else json.dumps(message))
                while True:
                    data = json.loads(await asyncio.wait_for(socket.recv(), 5))
                    if "event" in data:
                        seen_events.append(data)
                        continue
                    answers.append(data)
                    break
            while len(seen_events) < events:
                seen_events.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
            return answers + seen_events

    return asyncio.run(run())


def test_hello_names_the_protocol_version_and_the_devices_present(bridge):
    [answer] = _exchange(bridge[0], {"id": "h", "op": "hello"})
    assert answer["id"] == "h" and answer["ok"] is True
    assert answer["result"]["protocol"] == 1
    assert answer["result"]["driver"] == "simulator"
    assert answer["result"]["devices"] == {
        "card_reader": True,
        "qr_scanner": True,
        "signature_pad": True,
        "document_camera": True,
    }


def test_card_read_gives_every_field_of_the_card_and_a_jpeg_photo(bridge):
    [answer] = _exchange(bridge[0], {"id": 1, "op": "card.read"})
    card = answer["result"]
    assert {key: card[key] for key in ("name", "sex", "ethnicity", "id_number")} == {
        "name": "张建国", "sex": "男", "ethnicity": "汉", "id_number": "511381197803122018"
    }  # fmt: skip
    assert card["birth_date"] == "1978-03-12" and card["address"].startswith("四川省阆中市")
    assert (card["valid_from"], card["valid_to"]) == ("2016-05-20", "2036-05-20")
    photo = Image.open(io.BytesIO(base64.b64decode(card["photo"])))
    assert (photo.format, photo.size) == ("JPEG", (102, 126))


def test_placing_another_card_sends_an_event_and_the_reader_reads_it(bridge):
    placed, read, event = _exchange(
        bridge[0],
        {"id": "p", "op": "sim.place_card", "index": 1},
        {"id": "r", "op": "card.read"},
        events=1,
    )
    try:
        assert placed == {"id": "p", "ok": True, "result": {"index": 1}}
        assert event == {"event": "card.placed", "data": {}}
        assert read["result"]["id_number"] == CITIZENS[1]["id_number"] == "511381198511073028"
    finally:
        _exchange(bridge[0], {"id": "back", "op": "sim.place_card", "index": 0}, events=1)


def test_no_card_on_the_reader_is_an_error_with_its_code(bridge):
    try:
        _removed, answer, event = _exchange(
            bridge[0],
            {"id": "off", "op": "sim.place_card", "index": None},
            {"id": "r", "op": "card.read"},
            events=1,
        )
        assert event == {"event": "card.removed", "data": {}}
        assert answer == {
            "id": "r", "ok": False, "error": {"code": "no_card", "message": "no card on the reader"}
        }  # fmt: skip
    finally:
        _exchange(bridge[0], {"id": "back", "op": "sim.place_card", "index": 0}, events=1)


def test_the_scanned_qr_code_verifies_under_the_key_the_bridge_signs_with(bridge, settings):
    settings.ESSC_DEMO_KEY = "test-key"
    [answer] = _exchange(bridge[0], {"id": "q", "op": "qr.scan", "timeout": 5})
    holder = SimulatorQrVerifier().verify(answer["result"]["payload"])
    assert holder.id_number == "511381197803122018"


def test_the_pad_gives_a_png_and_the_camera_a_jpeg(bridge):
    signature, page = _exchange(
        bridge[0],
        {"id": "s", "op": "signature.capture", "prompt": "受理回执", "timeout": 5},
        {"id": "d", "op": "document.capture"},
    )
    assert Image.open(io.BytesIO(base64.b64decode(signature["result"]["png"]))).format == "PNG"
    assert Image.open(io.BytesIO(base64.b64decode(page["result"]["jpeg"]))).format == "JPEG"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "bad_request"),
        ('["a list"]', "bad_request"),
        ({"op": "hello"}, "bad_request"),
        ({"id": "x"}, "bad_request"),
        ({"id": "x", "op": "printer.print"}, "unknown_op"),
        ({"id": "x", "op": "qr.scan", "timeout": -1}, "bad_request"),
    ],
)
def test_a_malformed_request_is_answered_with_an_error_code(bridge, message, code):
    [answer] = _exchange(bridge[0], message)
    assert answer["ok"] is False and answer["error"]["code"] == code


def test_a_page_from_another_origin_cannot_connect(bridge):
    with pytest.raises(InvalidStatus):
        _exchange(bridge[0], {"id": 1, "op": "card.read"}, origin="http://evil.example")

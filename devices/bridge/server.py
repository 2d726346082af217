"""The bridge's WebSocket server: the protocol of README's "Hall devices" section.

Requests `{"id", "op", ...params}` get exactly one answer `{"id", "ok": true, "result"}`
or `{"id", "ok": false, "error": {"code", "message"}}`; events `{"event", "data"}` carry
no id. Only pages from the allowed origins may connect (any web page the kiosk's browser
opened could otherwise read ID cards), and the server listens on loopback only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import threading
from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from devices.bridge import PROTOCOL_VERSION
from devices.bridge.drivers import DeviceDriver, DeviceError, ErrorCode

logger = logging.getLogger("devices.bridge")

DEFAULT_PORT = 17321
MESSAGE_MAX_BYTES = 64 * 1024  # requests are small; answers (photos, pages) are not limited
TIMEOUT_DEFAULT, TIMEOUT_MAX = 30.0, 120.0
BRIDGE_NAME = "langzhong-device-bridge/1.0"


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


class BridgeServer:
    def __init__(self, driver: DeviceDriver, *, origins: Iterable[str]):
        self.driver = driver
        self.origins = sorted(set(origins))
        self.connections: set[ServerConnection] = set()
        # One call per device at a time: a second page asking the same reader waits.
        self._device_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._ready = threading.Event()
        self.port: int | None = None

    # --- ops -------------------------------------------------------------------------

    def _timeout(self, request: dict) -> float:
        value = request.get("timeout", TIMEOUT_DEFAULT)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise DeviceError(ErrorCode.BAD_REQUEST, "timeout must be a positive number")
        return min(float(value), TIMEOUT_MAX)

    async def _call(self, function, *args, **kwargs):
        async with self._device_lock:
            return await asyncio.to_thread(function, *args, **kwargs)

    async def _op(self, op: str, request: dict) -> dict:
        driver = self.driver
        if op == "hello":
            return {
                "protocol": PROTOCOL_VERSION,
                "bridge": BRIDGE_NAME,
                "driver": driver.name,
                "devices": driver.devices(),
            }
        if op == "card.read":
            card = await self._call(driver.read_card)
            return {**card.as_dict(), "photo": _b64(card.photo_jpeg)}
        if op == "qr.scan":
            payload = await self._call(driver.scan_qr, timeout=self._timeout(request))
            return {"payload": payload}
        if op == "signature.capture":
            prompt = request.get("prompt", "")
            if not isinstance(prompt, str) or len(prompt) > 200:
                raise DeviceError(ErrorCode.BAD_REQUEST, "prompt must be text of 200 or fewer")
            png = await self._call(
                driver.capture_signature, timeout=self._timeout(request), prompt=prompt
            )
            return {"png": _b64(png)}
        if op == "document.capture":
            return {"jpeg": _b64(await self._call(driver.capture_document))}
        if op == "sim.place_card" and hasattr(driver, "place_card"):
            index = request.get("index")
            if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
                raise DeviceError(ErrorCode.BAD_REQUEST, "index must be a number or null")
            driver.place_card(index)
            self._card_event(index is not None)
            return {"index": index}
        raise DeviceError(ErrorCode.UNKNOWN_OP, f"unknown op {op!r}")

    def _card_event(self, placed: bool) -> None:
        message = json.dumps({"event": "card.placed" if placed else "card.removed", "data": {}})
        broadcast(self.connections, message)

    def card_placed(self) -> None:
        """For drivers' reader threads (DeviceDriver.watch_cards)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._card_event, True)

    # --- the connection --------------------------------------------------------------

    async def _answer(self, raw) -> str:
        request_id = None
        try:
            if not isinstance(raw, str):
                raise DeviceError(ErrorCode.BAD_REQUEST, "send JSON text")
            try:
                request = json.loads(raw)
            except ValueError:
                raise DeviceError(ErrorCode.BAD_REQUEST, "not JSON") from None
            if not isinstance(request, dict):
                raise DeviceError(ErrorCode.BAD_REQUEST, "send a JSON object")
            request_id = request.get("id")
            if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
                request_id = None
                raise DeviceError(ErrorCode.BAD_REQUEST, "a request needs an id")
            op = request.get("op")
            if not isinstance(op, str):
                raise DeviceError(ErrorCode.BAD_REQUEST, "a request needs an op")
            result = await self._op(op, request)
        except DeviceError as error:
            return json.dumps(
                {"id": request_id, "ok": False,
                 "error": {"code": error.code, "message": error.message}}
            )  # fmt: skip
        except Exception:  # a driver's own failure must not close the page's connection
            logger.exception("device bridge: %s failed", request_id)
            return json.dumps(
                {"id": request_id, "ok": False,
                 "error": {"code": ErrorCode.DEVICE_ERROR, "message": "the device failed"}}
            )  # fmt: skip
        return json.dumps({"id": request_id, "ok": True, "result": result}, ensure_ascii=False)

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.add(connection)
        try:
            async for raw in connection:
                # Answer each request as it completes: a long signature capture does not
                # hold up a card read from the same page.
                asyncio.create_task(self._reply(connection, raw))  # noqa: RUF006
        finally:
            self.connections.discard(connection)

    async def _reply(self, connection: ServerConnection, raw) -> None:
        answer = await self._answer(raw)
        # The page may have gone away meanwhile: nobody is left to tell.
        with contextlib.suppress(ConnectionClosed):
            await connection.send(answer)

    # --- running ---------------------------------------------------------------------

    async def run(self, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, stop=None):
        self._loop = asyncio.get_running_loop()
        async with serve(
            self._handle,
            host,
            port,
            origins=self.origins,
            max_size=MESSAGE_MAX_BYTES,
        ) as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            self.driver.watch_cards(self.card_placed)
            self._ready.set()
            logger.info("device bridge (%s) on ws://%s:%s", self.driver.name, host, self.port)
            if stop is None:
                await server.serve_forever()
            else:
                await stop.wait()

    def start_in_thread(self, *, host: str = "127.0.0.1", port: int = 0) -> int:
        """Run in a daemon thread (tests, the screenshot script); returns the port."""
        self._stop = None

        def main():
            async def runner():
                self._stop = asyncio.Event()
                await self.run(host=host, port=port, stop=self._stop)

            asyncio.run(runner())

        self._thread = threading.Thread(target=main, name="device-bridge", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the device bridge did not start")
        return self.port

    def stop_thread(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)

"""A local stand-in for the provincial platforms: a real HTTP server in a thread that
checks each request's signature and answers as told (accept, refuse, stall, fail)."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNING_KEY = "a-test-key-shared-with-the-platform-0123456789"


class FakePlatform:
    def __init__(self):
        self.mode = "accept"  # accept | refuse | stall | fail
        self.stall_seconds = 2.0
        self.requests: list[dict] = []
        self._acks: dict[str, str] = {}
        self._lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                platform._handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        timestamp = handler.headers.get("X-Report-Timestamp", "")
        expected = hmac.new(
            SIGNING_KEY.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        key = handler.headers.get("Idempotency-Key", "")
        with self._lock:
            self.requests.append(
                {"path": handler.path, "key": key, "body": body, "headers": dict(handler.headers)}
            )
            mode = self.mode
        if handler.headers.get("X-Report-Signature") != f"sha256={expected}":
            return self._answer(handler, 401, {"error": "bad signature"})
        if abs(time.time() - int(timestamp or 0)) > 300:
            return self._answer(handler, 401, {"error": "stale timestamp"})
        if mode == "refuse":
            return self._answer(handler, 422, {"error": "unknown implementation code"})
        if mode == "fail":
            return self._answer(handler, 503, {"error": "maintenance"})
        if mode == "stall":
            time.sleep(self.stall_seconds)
        with self._lock:  # the platform deduplicates on the key: one record, one ack id
            ack = self._acks.setdefault(key, f"ACK-{len(self._acks) + 1}")
        self._answer(handler, 200, {"ack_id": ack})

    @staticmethod
    def _answer(handler, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the stall)

    @property
    def acknowledged_keys(self) -> set[str]:
        with self._lock:
            return set(self._acks)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

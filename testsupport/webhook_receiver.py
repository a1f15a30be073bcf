"""A loopback webhook endpoint for tests: answers from a script, records what it got."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Received", "Receiver", "running_receiver", "verify_signature"]


def verify_signature(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The README's receiver check: the signature matches and is recent."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = parts.get("t", "0")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    return fresh and hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


@dataclass(frozen=True)
class Received:
    """One request the endpoint got, and the status it answered."""

    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        """The JSON body."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers each request with the next status of ``script`` (then ``then``), or hangs."""

    script: list[int] = field(default_factory=list)
    then: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    url: str = ""
    released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        """Record the request; the status to answer with."""
        with self._lock:
            status = self.script.pop(0) if self.script else self.then
            self.received.append(Received(headers=headers, body=body, answered=status))
        return status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(dict(self.headers.items()), body)
            if receiver.hang:
                receiver.released.wait(60)  # an endpoint that never answers
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    return Handler


@contextmanager
def running_receiver(receiver: Receiver) -> Iterator[Receiver]:
    """Serve ``receiver`` on a loopback port (``receiver.url``) for the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()

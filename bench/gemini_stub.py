"""A loopback server speaking Gemini's ``batchEmbedContents`` that takes as long as a hosted API.

The agent runs its real Gemini provider code against it (``AGENT_GEMINI_BASE_URL``), so what a
benchmark measures is our own pipeline waiting on a slow embedder, not a shortcut around it.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent_service.ingestion.embedders import HashEmbedder

__all__ = ["EmbeddingStub", "running_embedding_stub"]


@dataclass
class EmbeddingStub:
    """Where the stub listens and what it was asked."""

    latency_s: float
    dimensions: int = 768
    base_url: str = ""
    calls: int = 0
    texts: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, texts: int) -> None:
        """Count a call that begins."""
        with self.lock:
            self.calls += 1
            self.texts += texts
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def leave(self) -> None:
        """Count a call that ends."""
        with self.lock:
            self.in_flight -= 1


def _handler(stub: EmbeddingStub) -> type[BaseHTTPRequestHandler]:
    embedder = HashEmbedder(stub.dimensions)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if self.path.endswith(":batchEmbedContents"):
                texts = [entry["content"]["parts"][0]["text"] for entry in body["requests"]]
            elif self.path.endswith(":embedContent"):
                texts = [body["content"]["parts"][0]["text"]]
            else:
                self.send_error(404)
                return
            stub.enter(len(texts))
            try:
                time.sleep(stub.latency_s)
                vectors = embedder.embed_sync(texts).tolist()
            finally:
                stub.leave()
            answer: dict[str, Any]
            if self.path.endswith(":batchEmbedContents"):
                answer = {"embeddings": [{"values": v} for v in vectors]}
            else:
                answer = {"embedding": {"values": vectors[0]}}
            payload = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: a benchmark prints its own figures."""

    return Handler


@contextmanager
def running_embedding_stub(latency_s: float) -> Iterator[EmbeddingStub]:
    """The stub on a free loopback port until the block ends."""
    stub = EmbeddingStub(latency_s=latency_s)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def agent_environment(stub: EmbeddingStub) -> dict[str, str]:
    """The agent's settings that send its embeddings to the stub through the Gemini provider."""
    return {
        "AGENT_EMBEDDER": "gemini",
        "AGENT_GOOGLE_API_KEY": "stub-key",
        "AGENT_GEMINI_BASE_URL": stub.base_url,
        "AGENT_GEMINI_EMBEDDING_DIMENSIONS": str(stub.dimensions),
    }

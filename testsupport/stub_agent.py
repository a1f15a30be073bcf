"""A loopback stand-in for the agent, speaking its v1 wire format slowly on purpose.

Core's side of the agent API is an HTTP boundary; shutdown tests need an agent that keeps a
stream or an upsert open for a known time, which the real agent does not do on demand.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chatsphere_contracts.v1 import (
    AnswerTimings,
    ChatRequest,
    ChatResponse,
    Citation,
    StreamCitations,
    StreamDone,
    StreamEventName,
    StreamToken,
    TokenUsage,
    UpsertRequest,
    UpsertResponse,
    format_sse,
)

__all__ = ["SlowAgent", "running_slow_agent"]


@dataclass
class SlowAgent:
    """Where the stub listens, how slow it is, and what it has seen."""

    tokens: list[str]
    token_interval_s: float
    upsert_delay_s: float
    url: str = ""
    stream_started: threading.Event = field(default_factory=threading.Event)
    upsert_started: threading.Event = field(default_factory=threading.Event)
    upserted_ids: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    chat_requests: list[ChatRequest] = field(default_factory=list)
    timings: AnswerTimings | None = None


def _handler(agent: SlowAgent) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path in ("/v1/chat", "/v1/chat/stream"):
                agent.chat_requests.append(ChatRequest.model_validate_json(body))
            if self.path == "/v1/chat/stream":
                self._stream()
            elif self.path == "/v1/chat":
                self._answer()
            elif self.path == "/v1/index/upsert":
                self._upsert(UpsertRequest.model_validate_json(body))
            else:
                self.send_error(404)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            agent.stream_started.set()
            for token in agent.tokens:
                self.wfile.write(
                    format_sse(StreamEventName.TOKEN, StreamToken(delta=token)).encode()
                )
                self.wfile.flush()
                time.sleep(agent.token_interval_s)
            done = StreamDone(
                usage=TokenUsage(input_tokens=3, output_tokens=len(agent.tokens)),
                model="slow-stub",
                timings=agent.timings,
            )
            self.wfile.write(
                format_sse(
                    StreamEventName.CITATIONS, StreamCitations(citations=agent.citations)
                ).encode()
            )
            self.wfile.write(format_sse(StreamEventName.DONE, done).encode())
            self.wfile.flush()
            self.close_connection = True

        def _answer(self) -> None:
            usage = TokenUsage(input_tokens=3, output_tokens=len(agent.tokens))
            answer = ChatResponse(
                answer="".join(agent.tokens),
                citations=agent.citations,
                usage=usage,
                model="slow-stub",
                timings=agent.timings,
            )
            self._json(answer.model_dump_json().encode())

        def _json(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _upsert(self, request: UpsertRequest) -> None:
            agent.upsert_started.set()
            time.sleep(agent.upsert_delay_s)
            agent.upserted_ids.extend(chunk.id for chunk in request.chunks)
            self._json(UpsertResponse(upserted=len(request.chunks)).model_dump_json().encode())

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the test output is for the tests."""

    return Handler


@contextmanager
def running_slow_agent(
    *,
    tokens: list[str],
    token_interval_s: float = 0.0,
    upsert_delay_s: float = 0.0,
    timings: AnswerTimings | None = None,
) -> Iterator[SlowAgent]:
    """Serve the stub on a free loopback port while the block runs (``timings`` are sent as
    the agent's own, on answers and ``done`` events)."""
    agent = SlowAgent(
        tokens=tokens,
        token_interval_s=token_interval_s,
        upsert_delay_s=upsert_delay_s,
        timings=timings,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(agent))
    server.daemon_threads = True
    agent.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        server.shutdown()
        server.server_close()

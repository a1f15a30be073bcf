"""A loopback OpenAI-compatible chat server (the wire format Ollama and vLLM speak) that streams
its answer slowly, for tests that need an answer in flight for a known time."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["SlowChatServer", "running_slow_chat_server"]


@dataclass
class SlowChatServer:
    """Where the stub listens (``base_url`` ends in ``/v1``), its answer, and its pace."""

    tokens: list[str]
    token_interval_s: float
    first_token_delay_s: float = 0.0
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    streaming: threading.Event = field(default_factory=threading.Event)


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1_700_000_000}
    body |= {"model": "slow-model", "choices": choices, **extra}
    return f"data: {json.dumps(body)}\n\n".encode()


def _handler(server: SlowChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            server.requests.append(body)
            if not body.get("stream"):
                self._complete()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            server.streaming.set()
            role = {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "finish_reason": None,
            }
            self.wfile.write(_chunk([role]))
            self.wfile.flush()
            time.sleep(server.first_token_delay_s)
            for token in server.tokens:
                delta = {"index": 0, "delta": {"content": token}, "finish_reason": None}
                self.wfile.write(_chunk([delta]))
                self.wfile.flush()
                time.sleep(server.token_interval_s)
            self.wfile.write(_chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
            usage = {"prompt_tokens": 11, "completion_tokens": len(server.tokens)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            self.wfile.write(_chunk([], usage=usage))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _complete(self) -> None:
            """A whole ``chat.completion`` at once (as for a question rewritten to stand alone)."""
            message = {"role": "assistant", "content": "".join(server.tokens)}
            usage = {"prompt_tokens": 11, "completion_tokens": len(server.tokens)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            body = {"id": "chatcmpl-slow", "object": "chat.completion", "created": 1_700_000_000}
            body |= {"model": "slow-model", "usage": usage}
            body["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
            encoded = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the test output is for the tests."""

    return Handler


class _ManyClientsServer(ThreadingHTTPServer):
    # Hundreds of streams may connect at once (benchmarks): the default backlog of 5 would
    # make most of them retry their connection after a second.
    request_queue_size = 1024


@contextmanager
def running_slow_chat_server(
    *, tokens: list[str], token_interval_s: float, first_token_delay_s: float = 0.0
) -> Iterator[SlowChatServer]:
    """Serve the stub on a free loopback port while the block runs; a stream waits
    ``first_token_delay_s`` before its first token, then ``token_interval_s`` after each."""
    stub = SlowChatServer(
        tokens=tokens, token_interval_s=token_interval_s, first_token_delay_s=first_token_delay_s
    )
    http = _ManyClientsServer(("127.0.0.1", 0), _handler(stub))
    http.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{http.server_address[1]}/v1"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        http.shutdown()
        http.server_close()

"""A loopback OpenAI-compatible chat server (the wire format Ollama and vLLM speak) that streams
its answer slowly, for tests that need an answer in flight for a known time.

It runs on aiohttp in a thread of its own (``running_slow_chat_server``) or, for benchmarks that
must not share a process with their load generator, as ``python -m testsupport.stub_openai``
(``running_slow_chat_process``). Hundreds of streams cost one event loop, not a thread each.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testsupport.service_process import free_port

__all__ = ["SlowChatServer", "running_slow_chat_process", "running_slow_chat_server"]


@dataclass
class SlowChatServer:
    """Where the stub listens (``base_url`` ends in ``/v1``), its answer, and its pace.

    ``hold_after_first``, when given, makes every stream wait after its first token until the
    event is set: a test can then check that the first token got through on its own.
    """

    tokens: list[str]
    token_interval_s: float
    first_token_delay_s: float = 0.0
    hold_after_first: threading.Event | None = None
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    streaming: threading.Event = field(default_factory=threading.Event)


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1_700_000_000}
    body |= {"model": "slow-model", "choices": choices, **extra}
    return f"data: {json.dumps(body)}\n\n".encode()


def _usage(server: SlowChatServer) -> dict[str, int]:
    usage = {"prompt_tokens": 11, "completion_tokens": len(server.tokens)}
    return usage | {"total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}


def _frames(server: SlowChatServer) -> tuple[bytes, list[bytes], bytes]:
    """The opening chunk, one chunk per token, and the closing chunks, encoded once."""
    role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    tokens = [
        _chunk([{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        for token in server.tokens
    ]
    end = _chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    end += _chunk([], usage=_usage(server)) + b"data: [DONE]\n\n"
    return _chunk([role]), tokens, end


def _app(server: SlowChatServer) -> web.Application:
    opening, tokens, end = _frames(server)

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        server.requests.append(body)
        if not body.get("stream"):
            return web.json_response(_completion(server))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        server.streaming.set()
        await response.write(opening)
        await asyncio.sleep(server.first_token_delay_s)
        for index, token in enumerate(tokens):
            await response.write(token)
            if index == 0 and server.hold_after_first is not None:
                await asyncio.to_thread(server.hold_after_first.wait, 30)
            await asyncio.sleep(server.token_interval_s)
        await response.write(end)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


def _completion(server: SlowChatServer) -> dict[str, Any]:
    """A whole ``chat.completion`` at once (as for a question rewritten to stand alone)."""
    message = {"role": "assistant", "content": "".join(server.tokens)}
    body = {"id": "chatcmpl-slow", "object": "chat.completion", "created": 1_700_000_000}
    body |= {"model": "slow-model", "usage": _usage(server)}
    return body | {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


async def _serve(server: SlowChatServer, port: int, stop: asyncio.Event) -> None:
    runner = web.AppRunner(_app(server), access_log=None)
    await runner.setup()
    # Hundreds of streams may connect at once (benchmarks): a small backlog would make most of
    # them retry their connection after a second.
    await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


@contextmanager
def running_slow_chat_server(
    *,
    tokens: list[str],
    token_interval_s: float,
    first_token_delay_s: float = 0.0,
    hold_after_first: threading.Event | None = None,
) -> Iterator[SlowChatServer]:
    """Serve the stub on a free loopback port while the block runs; a stream waits
    ``first_token_delay_s`` before its first token, then ``token_interval_s`` after each."""
    stub = SlowChatServer(
        tokens=tokens,
        token_interval_s=token_interval_s,
        first_token_delay_s=first_token_delay_s,
        hold_after_first=hold_after_first,
    )
    port = free_port()
    stub.base_url = f"http://127.0.0.1:{port}/v1"
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    serving = loop.create_task(_serve(stub, port, stop))
    thread = threading.Thread(target=loop.run_until_complete, args=(serving,), daemon=True)
    thread.start()
    try:
        _wait_listening(port, serving)
        yield stub
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def _wait_listening(port: int, serving: "asyncio.Task[None] | None" = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if serving is not None and serving.done():
            serving.result()  # the server failed to start: raise its error
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)  # noqa: S310
        except urllib.error.HTTPError:
            return  # answered (405/404): listening
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("the stub model did not start listening")


@contextmanager
def running_slow_chat_process(
    *, tokens: list[str], token_interval_s: float, first_token_delay_s: float = 0.0
) -> Iterator[str]:
    """The stub in a process of its own; yields its base URL (ending in ``/v1``)."""
    port = free_port()
    command = [sys.executable, "-m", "testsupport.stub_openai", "--port", str(port)]
    command += ["--interval", str(token_interval_s), "--first-delay", str(first_token_delay_s)]
    process = subprocess.Popen([*command, "--tokens", json.dumps(tokens)])  # noqa: S603
    try:
        _wait_listening(port)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    """``python -m testsupport.stub_openai --port P --tokens '[...]' --interval S``."""
    parser = argparse.ArgumentParser(description="A slow OpenAI-compatible chat stub.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", required=True, help="A JSON list of the answer's tokens.")
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--first-delay", type=float, default=0.0)
    arguments = parser.parse_args()
    stub = SlowChatServer(
        tokens=json.loads(arguments.tokens),
        token_interval_s=arguments.interval,
        first_token_delay_s=arguments.first_delay,
    )
    asyncio.run(_serve(stub, arguments.port, asyncio.Event()))


if __name__ == "__main__":
    main()

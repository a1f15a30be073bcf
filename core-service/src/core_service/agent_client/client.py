"""``AgentClient``: typed calls to the agent over one shared ``httpx.AsyncClient``.

Only idempotent calls (upsert with caller-chosen ids, delete, retrieve) are retried here; a chat
is not, because a second answer would be generated and billed.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
import structlog
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from chatsphere_contracts.v1 import (
    ChatRequest,
    ChatResponse,
    DeleteRequest,
    DeleteResponse,
    RetrieveRequest,
    RetrieveResponse,
    UpsertRequest,
    UpsertResponse,
)
from chatsphere_kit.server_timing import record_duration
from core_service.agent_client.exceptions import AgentRejected, AgentUnavailable
from core_service.config import Settings
from core_service.observability.metrics import AGENT_CALL_DURATION

__all__ = ["AgentClient", "ServerSentEvent", "create_agent_client", "create_agent_http_client"]

# Tries of an idempotent agent call (index, delete) within one job; the worker's own retries
# with backoff take over after them, so more tries here would only delay that.
AGENT_RETRY_ATTEMPTS = 3

# An idle connection is dropped well before the agent's server closes it (uvicorn: 5 s after its
# last response). The server counts from when it sent the response and we from when we read it;
# on a busy process these differ by seconds, and a connection both sides thought alive was reset
# under the request (BENCHMARKS.md, "the resets under the 500-stream burst").
KEEPALIVE_EXPIRY_S = 2.0

_log = structlog.get_logger(__name__)
ResponseT = TypeVar("ResponseT", bound=BaseModel)


@dataclass(frozen=True)
class ServerSentEvent:
    """One ``event:``/``data:`` frame of a stream."""

    event: str
    data: str


def create_agent_http_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport
) -> httpx.AsyncClient:
    """The one pooled client per process over ``transport`` (``create_agent_client`` picks it)."""
    timeout = httpx.Timeout(
        settings.agent_read_timeout_s,
        connect=settings.agent_connect_timeout_s,
        pool=settings.agent_connect_timeout_s,
    )
    return httpx.AsyncClient(
        base_url=settings.agent_url,
        timeout=timeout,
        transport=transport,
        headers={"Authorization": f"Bearer {settings.agent_api_key.get_secret_value()}"},
        event_hooks={"request": [_forward_request_id]},
    )


def create_agent_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_attempts: int | None = None,
) -> "AgentClient":
    """The agent client over a new pooled connection (aiohttp's unless ``transport`` is given).

    httpx's API over aiohttp's connections: measured against a local agent, httpx's own
    transport spent about 550 us of CPU and 0.55 ms per call, aiohttp about 255 us and 0.30 ms,
    which is a tenth of a chat turn's latency. aiohttp's errors arrive as ``httpx`` transport
    errors and timeouts, so callers see no difference.
    """
    # Each answer being streamed holds a connection for its whole length: the transport's
    # default pool (100) would make the next streams wait for one and time out.
    connections = settings.agent_max_connections
    limits = httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )
    transport = transport or AiohttpTransport(limits=limits)
    return AgentClient(
        create_agent_http_client(settings, transport=transport),
        transport,
        retry_attempts=AGENT_RETRY_ATTEMPTS if retry_attempts is None else retry_attempts,
    )


async def _forward_request_id(request: httpx.Request) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and "x-request-id" not in request.headers:
        request.headers["X-Request-ID"] = str(request_id)


class AgentClient:
    """Typed calls to the agent's v1 API; every failure is ``AgentUnavailable`` or rejected."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        transport: httpx.AsyncBaseTransport,
        *,
        retry_attempts: int = 3,
    ) -> None:
        """``transport`` is the one ``http`` was made with (``create_agent_client`` pairs them)."""
        self._http = http
        self._transport = transport
        self._retry_attempts = retry_attempts
        self._urls: dict[str, httpx.URL] = {}

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client (streams go through it; tracing instruments its transport)."""
        return self._http

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    def with_retry_attempts(self, attempts: int) -> "AgentClient":
        """The same connection pool with another retry budget (the worker retries on its own)."""
        return AgentClient(self._http, self._transport, retry_attempts=attempts)

    async def upsert(self, request: UpsertRequest) -> UpsertResponse:
        """Index passages; the same ids again overwrite, so a retry cannot duplicate."""
        return await self._retried(lambda: self._post("/v1/index/upsert", request, UpsertResponse))

    async def delete(self, request: DeleteRequest) -> DeleteResponse:
        """Delete vectors by ids, document or namespace."""
        return await self._retried(lambda: self._post("/v1/index/delete", request, DeleteResponse))

    async def retrieve(self, request: RetrieveRequest) -> RetrieveResponse:
        """The best passages for a query."""
        return await self._retried(lambda: self._post("/v1/retrieve", request, RetrieveResponse))

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One answer with citations; not retried."""
        return await self._post("/v1/chat", request, ChatResponse)

    @asynccontextmanager
    async def chat_stream(
        self, request: ChatRequest
    ) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
        """The agent's server-sent events as they arrive; the connection closes on exit."""
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            async with self._http.stream(
                "POST",
                self._url("/v1/chat/stream"),
                content=request.model_dump_json(),
                headers={"Content-Type": "application/json"},
            ) as response:
                if response.is_error:
                    await response.aread()
                    _raise_for_status(response)
                yield _read_events(response)
            outcome = "ok"
        except AgentRejected:
            outcome = "error"
            raise
        except asyncio.CancelledError:
            # The client went away mid-stream: not the agent's failure.
            outcome = "cancelled"
            raise
        except httpx.TransportError as error:
            raise AgentUnavailable from error
        finally:
            # The whole stream, not just the headers: what a user waits for.
            AGENT_CALL_DURATION.labels(endpoint="/v1/chat/stream", outcome=outcome).observe(
                time.perf_counter() - started
            )

    async def _retried(self, call: Callable[[], Awaitable[ResponseT]]) -> ResponseT:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry_attempts),
            wait=wait_exponential_jitter(initial=0.2, max=2.0, jitter=0.2),
            retry=retry_if_exception_type(AgentUnavailable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _url(self, path: str) -> httpx.URL:
        # httpx parses a relative URL and merges it with the base URL on every request, in pure
        # Python (about 20 us of 32 per request built); an absolute URL object goes as it is.
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self._http.build_request("POST", path).url
        return url

    async def _post(self, path: str, request: BaseModel, model: type[ResponseT]) -> ResponseT:
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            try:
                response = await self._send(path, request.model_dump_json())
            except httpx.TransportError as error:
                _log.warning("agent_unreachable", path=path, error=type(error).__name__)
                raise AgentUnavailable from error
            _raise_for_status(response)
            parsed = _parse(response, model)
            outcome = "ok"
            return parsed
        except AgentRejected:
            outcome = "error"
            raise
        finally:
            elapsed_s = time.perf_counter() - started
            AGENT_CALL_DURATION.labels(endpoint=path, outcome=outcome).observe(elapsed_s)
            record_duration("agent", elapsed_s * 1000)

    async def _send(self, path: str, body: str) -> httpx.Response:
        """One JSON request, its whole response read.

        Straight to the client's transport: a JSON call needs none of what ``AsyncClient.send``
        adds on top (auth and redirect flows, cookie jar, stream wrappers), which cost about
        120 us of CPU per call against a local agent, as much as aiohttp's own work. The request
        is still built by the client (base URL, service key, timeouts) and the transport is the
        client's, so tracing, tests' transports and error mapping see no difference.
        """
        request = self._http.build_request(
            "POST", self._url(path), content=body, headers={"Content-Type": "application/json"}
        )
        await _forward_request_id(request)
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response


def _parse(response: httpx.Response, model: type[ResponseT]) -> ResponseT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        raise AgentRejected("The assistant answered in an unexpected shape.") from error


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        # A wrong or missing service key is an operator's mistake, not the document's: keep the
        # work waiting (the worker retries) until the key is fixed.
        _log.error("agent_refused_service_key", status=response.status_code)
        raise AgentUnavailable
    if response.status_code >= 500 or response.status_code in (408, 429):
        _log.warning("agent_failed", status=response.status_code, path=response.request.url.path)
        raise AgentUnavailable
    if response.is_error:
        _log.error("agent_rejected", status=response.status_code, body=response.text[:500])
        raise AgentRejected


async def _read_events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    event, data = "message", list[str]()
    try:
        async for line in response.aiter_lines():
            if not line:
                if data:
                    yield ServerSentEvent(event, "\n".join(data))
                event, data = "message", list[str]()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
    except httpx.TransportError as error:
        raise AgentUnavailable from error
    if data:
        yield ServerSentEvent(event, "\n".join(data))

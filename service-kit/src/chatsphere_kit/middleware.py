"""Pure ASGI middleware: request id and access log, caps on request headers and bodies."""

import re
import time
import uuid
from collections.abc import Mapping

import orjson
import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatsphere_kit.routes import app_route_table
from chatsphere_kit.server_timing import SERVER_TIMING_HEADER, collect_durations, header_value

__all__ = [
    "REQUEST_ID_HEADER",
    "BodySizeLimitMiddleware",
    "HeaderLimitMiddleware",
    "RequestBodyTooLarge",
    "RequestContextMiddleware",
]

REQUEST_ID_HEADER = "x-request-id"

# Request line and headers together, and header fields per request (more get 431): room for
# large cookies and tokens, far below what would let a client make the server buffer much.
MAX_REQUEST_HEADER_BYTES = 65_536
MAX_REQUEST_HEADERS = 100
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestContextMiddleware:
    """Binds a request id (the caller's ``X-Request-ID`` or a new one), logs each request, and
    answers with its ``Server-Timing``."""

    def __init__(self, app: ASGIApp, *, access_logger: str) -> None:
        self.app = app
        self._log = structlog.get_logger(access_logger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_code = 500
        durations = collect_durations()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                total_ms = (time.perf_counter() - started) * 1000
                headers.append((SERVER_TIMING_HEADER, header_value(durations, total_ms=total_ms)))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            self._log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


class HeaderLimitMiddleware:
    """Answers 431 to requests with too many or too large headers.

    The server (``chatsphere_kit.server``) already cuts such requests while reading them; this
    check holds the same line under any other ASGI server.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_count: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) + 4 for name, value in headers)
            if len(headers) > self.max_count or size > self.max_bytes:
                detail = (
                    f"Request headers exceed {self.max_count} fields or {self.max_bytes} bytes."
                )
                await send_error(send, 431, "RequestHeaderFieldsTooLarge", detail)
                return
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    """Answers 413 once a body passes the cap of the route it is sent to.

    The cap is chosen by the route, never by a header the client controls: ``large_body_routes``
    maps ``(method, full path template)`` to a larger cap (uploads); every other route, and a
    path no route answers, gets ``max_bytes``. The route is looked up (with the routes' own
    patterns) only for a body larger than ``max_bytes``, so ordinary requests pay nothing; a
    declared length past the cap is refused before the app runs, a streamed body as soon as it
    passes the cap, and nothing past the cap is buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        large_body_routes: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.large_body_routes = dict(large_body_routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            limit = self._route_limit(scope)
            if declared > limit:
                await _send_too_large(send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal limit, received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and limit == self.max_bytes:
                    limit = self._route_limit(scope)
                if received > limit:
                    raise RequestBodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except RequestBodyTooLarge as error:
            await send_error(send, 413, "PayloadTooLarge", str(error.detail))

    def _route_limit(self, scope: Scope) -> int:
        if not self.large_body_routes:
            return self.max_bytes
        method, path = scope["method"], scope["path"]
        template = app_route_table(scope).template_for(method, path)
        return self.large_body_routes.get((method, template or ""), self.max_bytes)


async def _send_too_large(send: Send, max_bytes: int) -> None:
    detail = f"The request body is larger than {max_bytes} bytes."
    await send_error(send, 413, "PayloadTooLarge", detail)


class RequestBodyTooLarge(HTTPException):
    """Raised inside ``receive`` when a body passes its cap.

    An ``HTTPException`` so that FastAPI's body parsing lets it through as a 413.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than {max_bytes} bytes.")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_error(send: Send, status: int, code: str, detail: str) -> None:
    """An ``{"error", "detail"}`` answer written at the ASGI level (outside FastAPI's handlers)."""
    body = orjson.dumps({"error": code, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

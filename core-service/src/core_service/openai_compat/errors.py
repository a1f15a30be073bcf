"""OpenAI's error shape on the endpoint's path, so that the official SDKs raise their own errors.

Every error of the path (from a route, a dependency, the request limits or an unknown path) is
answered by the app's handlers as ``{"error": code, "detail"}``; this middleware reshapes those
bodies into ``{"error": {"message", "type", "code", "param"}}`` and answers invalid input with
400, as OpenAI does. Everything else, streams included, passes untouched.
"""

import json
import re
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["OpenAIErrorMiddleware", "openai_error"]

# The codes OpenAI's clients know, for the errors that mean the same thing.
_OPENAI_CODES = {
    "InvalidBotKey": "invalid_api_key",
    "QuotaExceeded": "insufficient_quota",
    "TooManyRequests": "rate_limit_exceeded",
    "ValidationError": "invalid_request",
}
_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def openai_error(
    status_code: int, code: str, message: str, *, param: str | None = None
) -> dict[str, Any]:
    """``{"error": {...}}`` for one of our error codes."""
    kind = _TYPES.get(
        status_code, "server_error" if status_code >= 500 else "invalid_request_error"
    )
    if code == "QuotaExceeded":
        kind = "insufficient_quota"
    snake = _OPENAI_CODES.get(code) or re.sub(r"(?<!^)(?=[A-Z])", "_", code).lower()
    return {"error": {"message": message, "type": kind, "code": snake, "param": param}}


class OpenAIErrorMiddleware:
    """Reshape the JSON error answers under ``prefix``."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def reshaping_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held.append(message)
                return
            if not held or message["type"] != "http.response.body":
                await send(message)
                return
            held.append(message)
            if not message.get("more_body", False):
                for reshaped in _reshaped(held[0], b"".join(m.get("body", b"") for m in held[1:])):
                    await send(reshaped)

        await self.app(scope, receive, reshaping_send)


def _reshaped(start: Message, body: bytes) -> list[Message]:
    """The start and body messages of the OpenAI-shaped answer (unchanged if not our shape)."""
    try:
        ours = json.loads(body)
        code, detail = ours["error"], ours["detail"]
    except (ValueError, TypeError, KeyError):
        return [start, {"type": "http.response.body", "body": body}]
    status_code = 400 if start["status"] == 422 else start["status"]
    new_body = json.dumps(
        openai_error(status_code, str(code), str(detail), param=_param(ours.get("fields")))
    ).encode()
    headers = MutableHeaders(raw=list(start["headers"]))
    headers["content-length"] = str(len(new_body))
    new_start = {**start, "status": status_code, "headers": headers.raw}
    return [new_start, {"type": "http.response.body", "body": new_body}]


def _param(fields: Any) -> str | None:
    """The body parameter a validation error is about (``messages.0.content``)."""
    if not isinstance(fields, list) or not fields or not isinstance(fields[0], dict):
        return None
    location = [str(part) for part in fields[0].get("loc", [])]
    return ".".join(location[1:]) if location[:1] == ["body"] and len(location) > 1 else None

"""Errors are types; one set of handlers turns every failure into ``{"error", "detail"}``.

Services subclass ``AppError`` for their own errors and may add handlers for their own
libraries' exceptions (core adds the database's) after ``install_error_handlers``.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatsphere_contracts.v1 import ErrorBody, FieldError
from chatsphere_kit.routes import app_route_table

__all__ = [
    "ERROR_RESPONSES",
    "AppError",
    "NotFound",
    "error_response",
    "handle_app_error",
    "handle_unexpected_error",
    "install_error_handlers",
]

_log = structlog.get_logger(__name__)


class AppError(Exception):
    """Base of every error the API answers on purpose."""

    code: ClassVar[str] = "InternalError"
    status_code: ClassVar[int] = 500
    detail: str = "An unexpected error occurred."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        self.detail = detail or self.detail
        self.headers = headers
        super().__init__(self.detail)


class NotFound(AppError):
    """The object does not exist, or belongs to someone else."""

    code = "NotFound"
    status_code = 404
    detail = "Not found."


def error_response(
    status_code: int,
    code: str,
    detail: str,
    *,
    fields: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON answer for any error."""
    body = ErrorBody(error=code, detail=detail, fields=fields)
    return JSONResponse(body.to_json_dict(), status_code=status_code, headers=headers)


_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
    for status in _ERROR_STATUSES
}
"""OpenAPI ``responses`` for routers: every error answers with ``ErrorBody`` (also 422)."""

_HTTP_CODES: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}


async def handle_app_error(_: Request, exc: Exception) -> JSONResponse:
    """An ``AppError`` as its status, code and detail (5xx are logged)."""
    assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
    if exc.status_code >= 500:
        _log.error("request_failed", error=exc.code, detail=exc.detail)
    return error_response(exc.status_code, exc.code, exc.detail, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = _HTTP_CODES.get(exc.status_code, HTTPStatus(exc.status_code).phrase.replace(" ", ""))
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette's own Allow names only the first matching route's methods.
        allowed = app_route_table(request.scope).allowed_methods(request.url.path)
        headers["Allow"] = ", ".join(allowed)
    return error_response(exc.status_code, code, detail, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    fields = [_field_error(error) for error in exc.errors()]
    first = fields[0] if fields else None
    detail = (
        f"Invalid input at {'.'.join(map(str, first.loc))}: {first.message}"
        if first
        else "Invalid input."
    )
    return error_response(422, "ValidationError", detail, fields=fields)


def _field_error(error: dict[str, Any]) -> FieldError:
    return FieldError(
        loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
        message=str(error.get("msg", "invalid value")),
        type=str(error.get("type", "value_error")),
    )


async def handle_unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with a generic 500."""
    _log.exception("unhandled_error", exc_type=type(exc).__name__)
    return error_response(500, "InternalError", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    """Every error path answers with the ``ErrorBody`` shape."""
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, handle_unexpected_error)

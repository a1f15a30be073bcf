"""Errors are types; one set of handlers turns every failure into ``{"error", "detail"}``."""

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatsphere_contracts.v1 import ErrorBody, FieldError

__all__ = [
    "ERROR_RESPONSES",
    "AppError",
    "DatabaseUnavailable",
    "NotFound",
    "error_response",
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


class DatabaseUnavailable(AppError):
    """The database cannot be reached (down, restarting, or a lost connection)."""

    code = "DatabaseUnavailable"
    status_code = 503
    detail = "The database is not reachable right now; try again shortly."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


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


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
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
        headers["Allow"] = ", ".join(_allowed_methods(request.app, request.url.path))
    return error_response(exc.status_code, code, detail, headers=headers)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method documented for ``path``: Starlette's own 405 names only the first route's."""
    if not hasattr(app.state, "path_methods"):
        app.state.path_methods = [
            (
                re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"),
                {method.upper() for method in operations},
            )
            for template, operations in app.openapi()["paths"].items()
        ]
    matching = [(p.pattern.count("[^/]+"), m) for p, m in app.state.path_methods if p.match(path)]
    # A literal segment wins over a parameter: /documents/text is not /documents/{document_id}.
    fewest = min((params for params, _ in matching), default=0)
    methods = {method for params, found in matching if params == fewest for method in found}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


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


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Database failures that are not our bug: the database away, or a value it cannot store.

    The pool drops broken connections, so the next request reconnects by itself.
    """
    connection_lost = isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    if connection_lost:
        _log.warning("database_unavailable", exc_type=type(exc).__name__)
        return await _app_error(request, DatabaseUnavailable())
    if _is_unstorable_input(exc):
        return error_response(
            422,
            "InvalidInput",
            "A value could not be stored: text must be valid Unicode without NUL characters, "
            "and numbers must be within range.",
        )
    return await _unexpected_error(request, exc)


def _is_unstorable_input(exc: Exception) -> bool:
    # SQLSTATE class 22 is "data exception": NUL bytes, out-of-range numbers, overlong values.
    # The ORM wraps the driver's error (``orig``); the direct pool raises it as it is.
    driver_error = getattr(exc, "orig", exc)
    sqlstate = str(getattr(driver_error, "sqlstate", "") or "")
    return sqlstate.startswith("22") or isinstance(driver_error, UnicodeError)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled_error", exc_type=type(exc).__name__)
    return error_response(500, "InternalError", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    """Every error path answers with the ``ErrorBody`` shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StatementError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)

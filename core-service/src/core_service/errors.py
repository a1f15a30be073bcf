"""Core's errors on the kit's base: the database's failures answered as 503 or 422.

``AppError``, ``NotFound``, ``error_response`` and ``ERROR_RESPONSES`` are the kit's, re-exported
so that features import their errors from one place.
"""

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chatsphere_kit.errors import (
    ERROR_RESPONSES,
    AppError,
    NotFound,
    error_response,
    handle_app_error,
    handle_unexpected_error,
)

__all__ = [
    "ERROR_RESPONSES",
    "AppError",
    "DatabaseUnavailable",
    "NotFound",
    "error_response",
    "install_database_error_handlers",
]

_log = structlog.get_logger(__name__)


class DatabaseUnavailable(AppError):
    """The database cannot be reached (down, restarting, or a lost connection)."""

    code = "DatabaseUnavailable"
    status_code = 503
    detail = "The database is not reachable right now; try again shortly."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Database failures that are not our bug: the database away, or a value it cannot store.

    The pool drops broken connections, so the next request reconnects by itself.
    """
    connection_lost = isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    if connection_lost:
        _log.warning("database_unavailable", exc_type=type(exc).__name__)
        return await handle_app_error(request, DatabaseUnavailable())
    if _is_unstorable_input(exc):
        return error_response(
            422,
            "InvalidInput",
            "A value could not be stored: text must be valid Unicode without NUL characters, "
            "and numbers must be within range.",
        )
    return await handle_unexpected_error(request, exc)


def _is_unstorable_input(exc: Exception) -> bool:
    # SQLSTATE class 22 is "data exception": NUL bytes, out-of-range numbers, overlong values.
    # The ORM wraps the driver's error (``orig``); the direct pool raises it as it is.
    driver_error = getattr(exc, "orig", exc)
    sqlstate = str(getattr(driver_error, "sqlstate", "") or "")
    return sqlstate.startswith("22") or isinstance(driver_error, UnicodeError)


def install_database_error_handlers(app: FastAPI) -> None:
    """The database's failures answered as 503 or 422 (the kit installs the other handlers)."""
    app.add_exception_handler(StatementError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)

"""Engine, sessions and the declarative base; the engine lives in the app's lifespan."""

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Self

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import Connection, MetaData, PoolProxiedConnection, Select, event, make_url
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn

from chatsphere_kit.server_timing import record_duration
from core_service.config import Settings
from core_service.errors import DatabaseUnavailable

__all__ = [
    "Base",
    "DriverStatement",
    "EngineDep",
    "SessionDep",
    "SessionmakerDep",
    "create_engine",
    "create_read_sessionmaker",
    "create_sessionmaker",
    "get_engine",
    "get_session",
    "get_sessionmaker",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints alike."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A server starting, stopping or closing the socket mid-handshake, as during a restart.
# Wait for a pooled connection before answering 503: long enough for a burst of one user's turns
# (queued on their month's counter row) to pass, short of a client's own timeout.
_POOL_TIMEOUT_S = 30.0
_UNREACHABLE = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.ConnectionFailureError,
)


def _database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise RuntimeError("CORE_DATABASE_URL is not set; start the platform with `make run`")
    return settings.database_url


def _driver_dsn(settings: Settings) -> str:
    url = make_url(_database_url(settings))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _server_settings(settings: Settings) -> dict[str, str]:
    return {
        "statement_timeout": str(settings.database_statement_timeout_ms),
        "application_name": settings.service_name,
    }


def create_engine(settings: Settings) -> AsyncEngine:
    """The pooled async engine for ``settings.database_url``."""
    dsn = _driver_dsn(settings)

    async def connect() -> asyncpg.Connection:
        # asyncpg raises bare OSErrors when the server is away; name them so callers answer 503.
        try:
            return await asyncpg.connect(
                dsn,
                timeout=settings.readiness_timeout_s * 2,
                server_settings=_server_settings(settings),
            )
        except _UNREACHABLE as error:
            raise DatabaseUnavailable from error

    engine = create_async_engine(
        make_url(_database_url(settings)),
        async_creator=connect,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=_POOL_TIMEOUT_S,
        pool_pre_ping=settings.database_pool_pre_ping,
        hide_parameters=True,  # errors and logs never carry statement values (user text)
    )
    _time_statements(engine)
    return engine


_STARTED = "chatsphere_statement_started"


def _time_statements(engine: AsyncEngine) -> None:
    """Each statement's round trip counts as ``db`` in the request's ``Server-Timing``."""

    def started(connection: Connection, *_: Any) -> None:
        # One statement at a time runs on a connection: a failed one is overwritten by the next.
        connection.info[_STARTED] = time.perf_counter()

    def finished(connection: Connection, *_: Any) -> None:
        began = connection.info.pop(_STARTED)
        record_duration("db", (time.perf_counter() - began) * 1000)

    event.listen(engine.sync_engine, "before_cursor_execute", started)
    event.listen(engine.sync_engine, "after_cursor_execute", finished)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe (read-only) requests: autocommit, so no BEGIN/COMMIT round trips."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The app's sessionmaker, for work that outlives the request's session (a stream's end)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


_SAFE_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on error.

    Declared with ``scope="function"`` (see ``SessionDep``): the commit runs when the route
    returns, before the response is sent, so a 2xx means the write is committed and a failed
    commit answers an error instead.

    GET and HEAD only read, so they skip the transaction: fewer round trips while a pooled
    connection is held, which is what limits throughput under load.
    """
    state = request.app.state
    read_only = request.method in _SAFE_METHODS
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if read_only else state.sessionmaker
    )
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            # An autocommit session's statements are committed as they run: only changes the
            # ORM still holds need the commit's flush.
            if not read_only or session.new or session.dirty or session.deleted:
                await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_engine(request: Request) -> AsyncEngine:
    """The app's engine, for reads the driver runs alone (``DriverStatement``): no session to
    open and close around them."""
    engine: AsyncEngine = request.app.state.engine
    return engine


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]


def _converts_results(type_: TypeEngine[Any]) -> bool:
    try:
        return type_.dialect_impl(_ASYNCPG).result_processor(_ASYNCPG, None) is not None
    except Exception:  # noqa: BLE001 - a type that must inspect the column's type converts
        return True


# What leaves a connection unusable: the server away, the socket lost, the client's protocol
# out of step (a statement cut off half-way).
_CONNECTION_BROKEN = (
    *_UNREACHABLE,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)

_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A query built once from the features' own rules, compiled once, and run by the driver
    on the request session's connection.

    What it skips is SQLAlchemy's per-execution work (cache key, execution context, result
    wrapping, the greenlet bridge), which costs several times the round trip on the hot paths
    (BENCHMARKS.md, API overhead); the SQL itself still comes from the rules' one definition.
    Only types the driver reads and writes as they are qualify: a statement whose parameters
    or columns need SQLAlchemy's conversion is refused when it is compiled, at import.

    Only for reads that take no lock, on a session with nothing pending (it does not
    autoflush). It runs inside the session's transaction once the session has run a
    statement; before that, the transaction has nothing of its own to see. Given the engine
    (``EngineDep``) instead of a session, it is for checks that run before anything else of
    the request touches the database, as the active-user check does.
    """

    sql: str
    parameters: tuple[str, ...]

    @classmethod
    def compile(cls, statement: Select[*tuple[Any, ...]]) -> Self:
        """Compile ``statement`` for asyncpg; its bound parameters are named at run time."""
        compiled = statement.compile(dialect=_ASYNCPG)
        for name, bound in compiled.binds.items():
            if bound.type.dialect_impl(_ASYNCPG).bind_processor(_ASYNCPG) is not None:
                raise TypeError(f"parameter {name!r} needs SQLAlchemy's conversion")
        for column in statement.selected_columns:
            if _converts_results(column.type):
                raise TypeError(f"column {column.key!r} needs SQLAlchemy's conversion")
        return cls(sql=str(compiled), parameters=tuple(compiled.positiontup or ()))

    async def fetch(
        self, source: AsyncSession | AsyncEngine, values: Mapping[str, Any]
    ) -> list[asyncpg.Record]:
        """The rows, keyed by the statement's column labels: on the session's connection once
        its transaction has begun, otherwise on a connection of the pool's for this statement
        alone (an engine is always the latter)."""
        arguments = [values[name] for name in self.parameters]
        if isinstance(source, AsyncEngine):
            return await self._on_own_connection(source, arguments)
        if not source.in_transaction():
            # Nothing of the session's own to see yet: a connection checked out for this
            # statement costs a fraction of beginning the session's transaction, and a request
            # that only reads this way never begins one (BENCHMARKS.md, the two guards).
            engine = source.bind
            if not isinstance(engine, AsyncEngine):
                raise TypeError("the session is not bound to an engine")
            return await self._on_own_connection(engine, arguments)
        connection = await source.connection()
        raw = await connection.get_raw_connection()
        try:
            return await self._run(raw, arguments)
        except DatabaseUnavailable:
            # The pool must not hand this connection out again, nor the session use it.
            await connection.invalidate()
            raise

    async def _on_own_connection(
        self, engine: AsyncEngine, arguments: list[Any]
    ) -> list[asyncpg.Record]:
        # Returned before anything else of the request takes one: a request holds one at a time.
        raw = await engine.raw_connection()
        try:
            return await self._run(raw, arguments)
        except DatabaseUnavailable as error:
            raw.invalidate(error.__cause__)  # the pool must not hand this connection out again
            raise
        finally:
            # Checking in may close the connection (pool overflow), which awaits the driver.
            await greenlet_spawn(raw.close)

    async def _run(self, raw: PoolProxiedConnection, arguments: list[Any]) -> list[asyncpg.Record]:
        driver = raw.driver_connection
        if not isinstance(driver, asyncpg.Connection):
            raise TypeError("the engine's connections are not asyncpg's")
        began = time.perf_counter()
        try:
            return await driver.fetch(self.sql, *arguments)
        except _CONNECTION_BROKEN as error:
            raise DatabaseUnavailable from error
        except asyncio.CancelledError:
            # Cut off mid-statement, the connection's protocol is in an unknown state: close it
            # now, so that its next use fails as a lost connection (503) rather than as a 500.
            driver.terminate()
            raise
        finally:
            record_duration("db", (time.perf_counter() - began) * 1000)

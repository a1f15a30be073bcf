"""The real agent app, in-process, for core tests; and a switch that makes it unreachable."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
from fastapi import FastAPI

from agent_service.config import Environment, Settings
from agent_service.main import create_app

__all__ = ["AgentHarness", "SwitchableTransport", "count_vectors", "running_agent"]


class SwitchableTransport(httpx.AsyncBaseTransport):
    """Forwards to the agent, or refuses connections as a stopped server would.

    ``available = False`` refuses all; ``refuse_every = n`` refuses every n-th request.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.available = True
        self.refuse_every: int | None = None
        self.requests = 0
        self.refused = 0
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        flaky = self.refuse_every is not None and self.requests % self.refuse_every == 0
        if not self.available or flaky:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        self.sent.append(request)
        # In a task of its own, as in its own process: the agent's middleware clears the log
        # context when a request ends, which must not clear the caller's.
        return await asyncio.create_task(self.inner.handle_async_request(request))


@dataclass(frozen=True)
class AgentHarness:
    """A started agent app, the transport in front of it, and its database."""

    app: FastAPI
    transport: SwitchableTransport
    database_url: str


@asynccontextmanager
async def running_agent(database_url: str) -> AsyncIterator[AgentHarness]:
    """The agent on its offline defaults (static embedder, pgvector, extractive answers)."""
    app = create_app(
        Settings(environment=Environment.TEST, database_url=database_url, gc_tuning=False)
    )
    async with app.router.lifespan_context(app):
        transport = SwitchableTransport(httpx.ASGITransport(app=app))
        yield AgentHarness(app=app, transport=transport, database_url=database_url)


async def count_vectors(database_url: str, *, namespace: str) -> tuple[int, int]:
    """Rows and distinct ids stored for ``namespace`` in every vector table of the agent."""
    connection = await asyncpg.connect(database_url)
    try:
        # Partitions hold the same rows as their table: count each table once, not its parts.
        tables = await connection.fetch(
            "SELECT c.relname AS table_name FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding' "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        )
        rows = distinct = 0
        for table in tables:
            name = table["table_name"]
            counted = await connection.fetchrow(
                f'SELECT count(*) AS n, count(DISTINCT id) AS d FROM "{name}" '  # noqa: S608
                "WHERE namespace = $1",
                namespace,
            )
            assert counted is not None  # noqa: S101 - an aggregate always returns a row
            rows += counted["n"]
            distinct += counted["d"]
        return rows, distinct
    finally:
        await connection.close()

"""Agent fixtures: a vector database per session and an HTTP client on a started app."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pgvector.asyncpg import register_vector

from agent_service.config import DEVELOPMENT_API_KEY, Environment, Settings
from agent_service.database import plain_dsn
from agent_service.main import create_app
from agent_service.retrieval.pgvector_store import (
    PgVectorStore,
    ensure_schema,
    session_settings,
    table_name_for,
)
from testsupport.asgi import started_client
from testsupport.postgres import PostgresServer


@pytest.fixture(scope="session")
async def agent_database_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The agent's own database (with pgvector), shared by the session."""
    name = await postgres_server.create_database("agent_test")
    yield postgres_server.url_for(name)
    await postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def agent_settings(agent_database_url: str) -> Settings:
    """Settings for tests: the test database, the test environment."""
    # gc_tuning off: a full collection per app start adds up over the suite.
    return Settings(environment=Environment.TEST, database_url=agent_database_url, gc_tuning=False)


@pytest.fixture
async def agent_app(agent_settings: Settings) -> AsyncIterator[FastAPI]:
    """A started agent app (lifespan entered)."""
    app = create_app(agent_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def agent_client(agent_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that talks to the agent app in-process."""
    async with started_client(agent_app, base_url="http://agent.test", lifespan=False) as client:
        yield client


@pytest.fixture
def auth() -> dict[str, str]:
    """The development key's header (accepted while no keys are configured)."""
    return {"Authorization": f"Bearer {DEVELOPMENT_API_KEY}"}


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses."""
    return f"bot-{uuid.uuid4()}"


_CONTRACT_TABLE = table_name_for("store-tests", 256)


@pytest.fixture(scope="session")
async def pgvector_pool(agent_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test database with a 256-dimension passages table."""
    dsn = plain_dsn(agent_database_url)
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(2):  # the second run proves the schema set-up is idempotent
            await ensure_schema(connection, table=_CONTRACT_TABLE, dimensions=256)
    finally:
        await connection.close()
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=4,
        init=register_vector,
        server_settings=session_settings(ef_search=100),
    )
    yield pool
    await pool.close()


@pytest.fixture
def pgvector_store(pgvector_pool: asyncpg.Pool) -> PgVectorStore:
    """The pgvector store on the test table."""
    return PgVectorStore(pgvector_pool, table=_CONTRACT_TABLE)


ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_with(agent_settings: Settings) -> ClientFactory:
    """``async with client_with(embedder=…, …) as client``: an app started with other settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings.model_validate({**agent_settings.model_dump(), **overrides})
        # httpx's own transport, which pytest-httpx answers for (the app's default is aiohttp's).
        app = create_app(settings, model_transport=httpx.AsyncHTTPTransport())
        async with started_client(app, base_url="http://agent.test") as client:
            yield client

    return start

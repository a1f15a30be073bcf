"""Core fixtures: a migrated database per session, a fresh state per test, an HTTP client."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core_service.config import Environment, Settings
from core_service.main import create_app
from core_service.migrate import upgrade_to_head_async
from core_service.models import Base
from testsupport.agent_inprocess import AgentHarness, running_agent
from testsupport.asgi import started_client
from testsupport.core_webhooks import LOOPBACK
from testsupport.postgres import PostgresServer

# Tables whose rows come from migrations (seed data) and must survive between tests.
SEEDED_TABLES = frozenset({"subscription_plans"})


@pytest.fixture(scope="session")
async def core_database_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A core database migrated to head, shared by the session."""
    name = await postgres_server.create_database("core_test")
    url = postgres_server.url_for(name, driver="postgresql+asyncpg")
    await upgrade_to_head_async(url)
    yield url
    await postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def core_settings(core_database_url: str) -> Settings:
    """Settings for tests: the test database, the test environment, cheap argon2 parameters."""
    return Settings(
        environment=Environment.TEST,
        database_url=core_database_url,
        log_json=True,
        argon2_time_cost=1,
        argon2_memory_kib=1_024,
        argon2_parallelism=1,
        gc_tuning=False,  # a full collection per app start adds up over the suite
    )


@pytest.fixture(scope="session")
async def core_engine(core_settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine for tests that look at the database directly."""
    engine = create_async_engine(str(core_settings.database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def core_db(core_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The core database, emptied of everything but seed data after the test."""
    yield core_engine
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in SEEDED_TABLES]
    if tables:
        quoted = ", ".join(f'"{name}"' for name in tables)
        async with core_engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@asynccontextmanager
async def _started_app(
    settings: Settings, agent: AgentHarness | None = None
) -> AsyncIterator[FastAPI]:
    """A core app with its lifespan entered; its agent client reaches ``agent`` if given."""
    app = create_app(settings, agent_transport=agent.transport if agent else None)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def core_app(core_settings: Settings, core_db: AsyncEngine) -> AsyncIterator[FastAPI]:
    """A started core app (lifespan entered) on the test database."""
    async with _started_app(core_settings) as app:
        yield app


@pytest.fixture
async def core_client(core_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that talks to the core app in-process."""
    async with started_client(core_app, base_url="http://core.test", lifespan=False) as client:
        yield client


# Bots, documents and chat: the real agent app in-process behind a switchable transport.


@pytest.fixture(scope="session")
async def upstream_agent_database_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The vector database of the agent that core's tests call (in-process or as a process).

    Named apart from the agent suite's ``agent_database_url`` (the database of the agent under
    test) so that one name means one thing across the two suites.
    """
    name = await postgres_server.create_database("core_agent_test")
    yield postgres_server.url_for(name)
    await postgres_server.drop_database(name)


@pytest.fixture
async def agent(upstream_agent_database_url: str) -> AsyncIterator[AgentHarness]:
    """A started agent app on its offline defaults."""
    async with running_agent(upstream_agent_database_url) as harness:
        yield harness


@pytest.fixture
async def hooks_app(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness
) -> AsyncIterator[FastAPI]:
    """A started core app that may reach loopback endpoints (webhook receivers), with the
    in-process agent."""
    async with _started_app(core_settings.model_copy(update=LOOPBACK), agent) as app:
        yield app


@pytest.fixture
async def hooks_client(hooks_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``hooks_app``."""
    async with started_client(hooks_app, base_url="http://core.test", lifespan=False) as client:
        yield client


@pytest.fixture
async def content_app(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness
) -> AsyncIterator[FastAPI]:
    """A started core app whose agent client reaches the in-process agent."""
    async with _started_app(core_settings, agent) as app:
        yield app


@pytest.fixture
async def content_client(content_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``content_app``."""
    async with started_client(content_app, base_url="http://core.test", lifespan=False) as client:
        yield client

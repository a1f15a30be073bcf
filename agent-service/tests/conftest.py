"""Agent fixtures: a vector database per session and an HTTP client on a started app."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from agent_service.config import Environment, Settings
from agent_service.main import create_app
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
    return Settings(environment=Environment.TEST, database_url=agent_database_url)


@pytest.fixture
async def agent_app(agent_settings: Settings) -> AsyncIterator[FastAPI]:
    """A started agent app (lifespan entered)."""
    app = create_app(agent_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def agent_client(agent_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that talks to the agent app in-process."""
    transport = httpx.ASGITransport(app=agent_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as client:
        yield client

"""Health, readiness and the error body of the agent, through HTTP."""

import asyncio
import time
from pathlib import Path

import httpx

from agent_service.config import Environment, Settings
from agent_service.main import create_app
from testsupport.asgi import started_client
from testsupport.postgres import start_embedded_postgres, stop_embedded_postgres


async def test_healthz_answers_ok(agent_client: httpx.AsyncClient) -> None:
    response = await agent_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["service"] == "agent-service"


async def test_readyz_is_200_when_the_database_answers(agent_client: httpx.AsyncClient) -> None:
    response = await agent_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_readyz_is_503_quickly_once_the_database_stops(tmp_path: Path) -> None:
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg")
    settings = Settings(environment=Environment.TEST, database_url=server.get_uri("postgres"))  # type: ignore[attr-defined]
    app = create_app(settings)
    async with started_client(app, base_url="http://agent.test") as client:
        assert (await client.get("/readyz")).status_code == 200
        await asyncio.to_thread(stop_embedded_postgres, server)
        started = time.monotonic()
        response = await client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failing"
    assert elapsed < 5


async def test_405_names_the_documented_methods(agent_client: httpx.AsyncClient) -> None:
    response = await agent_client.get("/v1/retrieve")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "MethodNotAllowed"

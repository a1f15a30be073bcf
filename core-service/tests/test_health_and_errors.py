"""Health, readiness, the error body and the request id, through HTTP."""

import asyncio
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from core_service.config import Environment, Settings
from core_service.main import create_app
from testsupport.asgi import started_client
from testsupport.postgres import start_embedded_postgres, stop_embedded_postgres


async def test_healthz_answers_ok(core_client: httpx.AsyncClient) -> None:
    response = await core_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["service"] == "core-service"


async def test_readyz_is_200_when_the_database_answers(core_client: httpx.AsyncClient) -> None:
    response = await core_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readyz_is_503_quickly_once_the_database_stops(tmp_path: Path) -> None:
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://")  # type: ignore[attr-defined]
    app = create_app(Settings(environment=Environment.TEST, database_url=url))
    async with started_client(app, base_url="http://core.test") as client:
        assert (await client.get("/readyz")).status_code == 200
        await asyncio.to_thread(stop_embedded_postgres, server)
        started = time.monotonic()
        response = await client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "checks": {"database": "failing"}}
    assert elapsed < 5


async def test_wrong_method_is_405_with_the_error_body(core_client: httpx.AsyncClient) -> None:
    response = await core_client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


class _Echo(BaseModel):
    name: str


def _app_with_echo_route(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.post("/echo")
    async def echo(body: _Echo) -> _Echo:
        return body

    return app


async def test_invalid_json_is_422_with_the_error_body(core_settings: Settings) -> None:
    app = _app_with_echo_route(core_settings)
    async with started_client(app, base_url="http://core.test", lifespan=False) as client:
        malformed = await client.post(
            "/echo", content=b'{"name": ', headers={"content-type": "application/json"}
        )
        missing = await client.post("/echo", json={})
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "ValidationError"
    assert missing.status_code == 422
    body = missing.json()
    assert body["error"] == "ValidationError"
    assert body["fields"][0]["loc"] == ["body", "name"]
    assert "body.name" in body["detail"]


async def test_oversized_json_body_is_413(core_settings: Settings) -> None:
    settings = core_settings.model_copy(update={"max_request_body_bytes": 1024})
    app = _app_with_echo_route(settings)
    async with started_client(app, base_url="http://core.test", lifespan=False) as client:
        response = await client.post("/echo", json={"name": "x" * 5000})
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


async def test_openapi_and_docs_are_served(core_client: httpx.AsyncClient) -> None:
    assert (await core_client.get("/openapi.json")).json()["info"]["title"] == "ChatSphere core API"
    assert (await core_client.get("/docs")).status_code == 200


async def test_405_names_every_method_of_the_path(core_client: httpx.AsyncClient) -> None:
    collection = await core_client.request("OPTIONS", "/api/v1/bots")
    item = await core_client.put("/api/v1/bots/7c8b9a3e-0000-4000-8000-000000000000")
    assert collection.status_code == 405
    assert collection.headers["allow"] == "GET, HEAD, POST"
    assert item.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    literal = await core_client.put(
        "/api/v1/bots/7c8b9a3e-0000-4000-8000-000000000000/documents/text"
    )
    assert literal.headers["allow"] == "POST"

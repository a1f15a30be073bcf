"""The database going away and coming back: 503 while it is down, served again after, no restart."""

import asyncio
from pathlib import Path

from core_service.config import Environment, Settings
from core_service.main import create_app
from core_service.migrate import upgrade_to_head_async
from testsupport.asgi import started_client
from testsupport.core_users import signup
from testsupport.postgres import (
    restart_embedded_postgres,
    start_embedded_postgres,
    stop_embedded_postgres,
)


async def test_requests_get_503_while_the_database_is_down_and_recover_after(
    tmp_path: Path,
) -> None:
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+asyncpg://")  # type: ignore[attr-defined]
    await upgrade_to_head_async(url)
    app = create_app(Settings(environment=Environment.TEST, database_url=url))
    async with started_client(
        app, base_url="http://core.test", raise_app_exceptions=False
    ) as client:
        user = await signup(client)
        assert (await client.get("/api/v1/plans")).status_code == 200
        # An authenticated read: the user's check and the list both need the database.
        assert (await client.get("/api/v1/bots", headers=user.headers)).status_code == 200
        await asyncio.to_thread(stop_embedded_postgres, server)
        down = [await client.get("/api/v1/plans") for _ in range(3)]
        bots_down = [await client.get("/api/v1/bots", headers=user.headers) for _ in range(3)]
        await asyncio.to_thread(restart_embedded_postgres, server)
        back = await client.get("/api/v1/plans")
        bots_back = await client.get("/api/v1/bots", headers=user.headers)
        ready = await client.get("/readyz")
    assert [r.status_code for r in down + bots_down] == [503] * 6
    assert {r.json()["error"] for r in down + bots_down} == {"DatabaseUnavailable"}
    assert {r.headers["retry-after"] for r in down + bots_down} == {"1"}
    assert back.status_code == 200
    assert bots_back.status_code == 200
    assert ready.status_code == 200

"""No log line carries a password, a token or a hash; argon2 rehash and equal-time failures."""

import json
import statistics
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.core_users import core_client_for, signup

PASSWORD = "hunter2-but-longer"
NEW_PASSWORD = "an entirely new passphrase"


async def _every_auth_flow(client: httpx.AsyncClient) -> list[str]:
    """Run each auth flow once and return every secret that went over the wire."""
    user = await signup(client, password=PASSWORD)
    secrets = [PASSWORD, NEW_PASSWORD, user.access_token, user.refresh_token]
    await client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": "wrong!!!"}
    )
    await client.post("/api/v1/auth/login", data={"username": "ghost", "password": PASSWORD})
    await client.post("/api/v1/auth/register", json={"username": "x", "password": PASSWORD})
    rotated = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    ).json()
    secrets += [rotated["access_token"], rotated["refresh_token"]]
    await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    await client.get("/api/v1/auth/me", headers=user.headers)
    await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    await client.patch(
        "/api/v1/auth/me",
        headers=user.headers,
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
    )
    await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    return secrets


async def test_no_log_line_contains_a_password_token_or_hash(
    core_settings: Settings,
    core_db: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    async with core_client_for(core_settings) as client:
        secrets = await _every_auth_flow(client)
    lines = capsys.readouterr().out.splitlines()
    records = [record.getMessage() for record in caplog.records]
    events = {json.loads(line)["event"] for line in lines}
    assert {"user_registered", "login_failed", "password_changed", "request"} <= events
    for logged in lines + records:
        assert "$argon2" not in logged
        for secret in secrets:
            assert secret not in logged


async def test_login_rehashes_a_password_made_with_older_parameters(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    async with core_client_for(core_settings) as client:
        user = await signup(client)
    stronger = core_settings.model_copy(update={"argon2_memory_kib": 2_048, "argon2_time_cost": 2})
    async with core_client_for(stronger) as client:
        login = {"username": user.username, "password": user.password}
        assert (await client.post("/api/v1/auth/login", data=login)).status_code == 200
        async with core_db.connect() as connection:
            stored = await connection.scalar(
                text("SELECT hashed_password FROM users WHERE username = :u"),
                {"u": user.username},
            )
        assert "$m=2048,t=2,p=1$" in str(stored)
        assert (await client.post("/api/v1/auth/login", data=login)).status_code == 200


async def _failed_login_time(client: httpx.AsyncClient, username: str) -> float:
    started = time.perf_counter()
    response = await client.post(
        "/api/v1/auth/login", data={"username": username, "password": "wrong password"}
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 401
    return elapsed


async def test_unknown_user_costs_the_same_argon2_run_as_a_wrong_password(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    # Costly enough that the hash dominates the timing, cheap enough for a test.
    settings = core_settings.model_copy(
        update={
            "argon2_memory_kib": 32_768,
            "argon2_time_cost": 2,
            "rate_limit_login_per_account": 100,
            "rate_limit_login_per_address": 100,
        }
    )
    async with core_client_for(settings) as client:
        user = await signup(client)
        await _failed_login_time(client, "warm-up-the-decoy")
        wrong: list[float] = []
        unknown: list[float] = []
        # Interleaved, so that load from other processes hits both series alike.
        for _ in range(7):
            wrong.append(await _failed_login_time(client, user.username))
            unknown.append(await _failed_login_time(client, "nobody-by-this-name"))
    assert 0.5 < statistics.median(unknown) / statistics.median(wrong) < 2.0

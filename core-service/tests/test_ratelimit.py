"""Brute-force limits on login and register, per address and per account, across replicas."""

from contextlib import AbstractAsyncContextManager

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.main import create_app
from testsupport.asgi import started_client
from testsupport.core_users import SignedUpUser, core_client_for, signup

LOGIN = "/api/v1/auth/login"


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, data={"username": username, "password": password})


async def test_repeated_failed_logins_on_one_account_get_429(
    core_client: httpx.AsyncClient, core_settings: Settings
) -> None:
    user = await signup(core_client)
    allowed = core_settings.rate_limit_login_per_account
    statuses = [
        (await _login(core_client, user.username, "wrong guess")).status_code
        for _ in range(allowed)
    ]
    assert statuses == [401] * allowed
    refused = await _login(core_client, user.email, user.password)
    assert refused.status_code == 429
    assert refused.json()["error"] == "TooManyRequests"
    assert 0 < int(refused.headers["retry-after"]) <= core_settings.rate_limit_login_window_s
    other = await signup(core_client)
    assert (await _login(core_client, other.username, other.password)).status_code == 200


async def test_a_successful_login_resets_the_account_count(
    core_client: httpx.AsyncClient, core_settings: Settings
) -> None:
    user = await signup(core_client)
    for _ in range(2):
        for _ in range(core_settings.rate_limit_login_per_account - 1):
            assert (await _login(core_client, user.username, "wrong guess")).status_code == 401
        assert (await _login(core_client, user.username, user.password)).status_code == 200


async def test_one_address_is_limited_across_accounts(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    settings = core_settings.model_copy(update={"rate_limit_login_per_address": 3})
    async with core_client_for(settings) as client:
        statuses = [
            (await _login(client, f"nobody{n}", "wrong guess")).status_code for n in range(4)
        ]
    assert statuses == [401, 401, 401, 429]


async def test_register_is_limited_per_address(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    settings = core_settings.model_copy(update={"rate_limit_register_per_address": 2})
    async with core_client_for(settings) as client:
        statuses = [
            (
                await client.post(
                    "/api/v1/auth/register",
                    json={
                        "username": f"u{n}_x",
                        "email": f"u{n}@example.com",
                        "password": "p" * 12,
                    },
                )
            ).status_code
            for n in range(3)
        ]
    assert statuses == [201, 201, 429]


async def test_the_count_is_shared_by_replicas(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    async with (
        core_client_for(core_settings) as replica_a,
        core_client_for(core_settings) as replica_b,
    ):
        user: SignedUpUser = await signup(replica_a)
        allowed = core_settings.rate_limit_login_per_account
        for attempt in range(allowed):
            replica = replica_a if attempt % 2 else replica_b
            assert (await _login(replica, user.username, "wrong guess")).status_code == 401
        assert (await _login(replica_a, user.username, user.password)).status_code == 429
        assert (await _login(replica_b, user.username, user.password)).status_code == 429


async def test_ended_windows_are_swept_when_a_new_one_starts(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    await _login(core_client, "first-account", "wrong guess")
    async with core_db.begin() as connection:
        await connection.execute(
            text("UPDATE rate_limit_buckets SET expires_at = now() - interval '1 second'")
        )
    await _login(core_client, "second-account", "wrong guess")
    async with core_db.connect() as connection:
        live = await connection.scalar(text("SELECT count(*) FROM rate_limit_buckets"))
    # The address bucket restarted; the first account's ended buckets are gone; the second
    # account's two (from this address, from everywhere) are new.
    assert live == 3


def _client_from(app: FastAPI, address: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return started_client(
        app, base_url="http://core.test", client_address=(address, 40_000), lifespan=False
    )


async def test_a_stranger_cannot_lock_the_owner_out(
    core_app: FastAPI, core_client: httpx.AsyncClient, core_settings: Settings
) -> None:
    owner = await signup(core_client)
    async with (
        _client_from(core_app, "203.0.113.9") as stranger,
        _client_from(core_app, "198.51.100.7") as owners_phone,
    ):
        for _ in range(core_settings.rate_limit_login_per_account):
            assert (await _login(stranger, owner.username, "wrong guess")).status_code == 401
        by_username = await _login(stranger, owner.username, "wrong guess")
        by_email = await _login(stranger, owner.email, owner.password)
        owner_by_email = await _login(owners_phone, owner.email, owner.password)
        owner_by_username = await _login(owners_phone, owner.username, owner.password)
    assert (by_username.status_code, by_email.status_code) == (429, 429)
    assert owner_by_email.status_code == 200, owner_by_email.text
    assert owner_by_username.status_code == 200


async def test_a_guesser_spread_over_many_addresses_is_still_stopped(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    ceiling = 4
    settings = core_settings.model_copy(
        update={"rate_limit_login_per_account_all_addresses": ceiling}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client_from(app, "192.0.2.1") as first:
        owner = await signup(first)
        statuses = []
        for n in range(ceiling):
            async with _client_from(app, f"192.0.2.{n + 10}") as guesser:
                statuses.append((await _login(guesser, owner.email, "wrong guess")).status_code)
    # The owner's own login (in ``signup``) counts toward the ceiling as well.
    assert statuses == [401] * (ceiling - 1) + [429]

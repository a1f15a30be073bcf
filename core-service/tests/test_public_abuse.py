"""Abuse of the public chat API: keys used from the wrong place, revoked keys and expired or
forged sessions, floods, and an owner who is gone."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import core_client_with_agent, create_bot
from testsupport.core_public import new_key, start_session
from testsupport.core_users import core_client_for, signup

SHOP = "https://shop.example"


async def test_a_publishable_key_and_its_sessions_need_an_allowed_origin(
    core_client: httpx.AsyncClient,
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await new_key(core_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP])
    auth = {"Authorization": f"Bearer {key['key']}"}
    visitor = await start_session(core_client, key["key"], origin=SHOP)
    session_auth = {"Authorization": visitor.headers["Authorization"]}

    answers = [
        await core_client.post("/api/v1/public/sessions", json={}, headers=auth),
        await core_client.post(
            "/api/v1/public/sessions", json={}, headers={**auth, "Origin": "https://evil.example"}
        ),
        await core_client.get("/api/v1/public/conversations", headers=session_auth),
        await core_client.get(
            "/api/v1/public/conversations", headers={**session_auth, "Origin": "null"}
        ),
    ]
    allowed = await core_client.get("/api/v1/public/conversations", headers=visitor.headers)

    assert [(a.status_code, a.json()["error"]) for a in answers] == [(403, "OriginNotAllowed")] * 4
    assert allowed.status_code == 200


async def test_revoking_a_key_ends_its_sessions_at_once(core_client: httpx.AsyncClient) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await new_key(core_client, owner, bot["id"])
    kept_key = await new_key(core_client, owner, bot["id"])
    visitor = await start_session(core_client, key["key"], end_user_id="alice")
    other = await start_session(core_client, kept_key["key"], end_user_id="alice")
    before = await core_client.get("/api/v1/public/conversations", headers=visitor.headers)

    await core_client.delete(f"/api/v1/bots/{bot['id']}/keys/{key['id']}", headers=owner.headers)
    session_after = await core_client.get("/api/v1/public/conversations", headers=visitor.headers)
    key_after = await core_client.post(
        "/api/v1/public/sessions", json={}, headers={"Authorization": f"Bearer {key['key']}"}
    )
    other_after = await core_client.get("/api/v1/public/conversations", headers=other.headers)

    assert before.status_code == 200
    assert (session_after.status_code, session_after.json()["error"]) == (401, "InvalidSession")
    assert (key_after.status_code, key_after.json()["error"]) == (401, "InvalidBotKey")
    assert other_after.status_code == 200


async def test_expired_and_forged_sessions_are_401(core_settings: Settings) -> None:
    settings = core_settings.model_copy(update={"public_session_ttl_s": 1, "jwt_leeway_s": 0})
    async with core_client_for(settings) as client:
        owner = await signup(client)
        bot = await create_bot(client, owner)
        key = await new_key(client, owner, bot["id"])
        visitor = await start_session(client, key["key"], end_user_id="alice")
        fresh = await client.get("/api/v1/public/conversations", headers=visitor.headers)
        claims = jwt.decode(visitor.token, options={"verify_signature": False})
        await asyncio.sleep(1.5)
        expired = await client.get("/api/v1/public/conversations", headers=visitor.headers)
        forged = [
            jwt.encode({**claims, "exp": _in(3600), "sub": "bob"}, "x" * 32, "HS256"),
            jwt.encode({**claims, "exp": _in(3600)}, None, "none"),
            visitor.token[:-4] + "AAAA",
            owner.access_token,
        ]
        answers = [
            await client.get(
                "/api/v1/public/conversations", headers={"Authorization": f"Bearer {token}"}
            )
            for token in forged
        ]

    assert fresh.status_code == 200
    assert (expired.status_code, expired.json()["error"]) == (401, "InvalidSession")
    assert [a.status_code for a in answers] == [401] * 4


def _in(seconds: int) -> int:
    return int((datetime.now(UTC) + timedelta(seconds=seconds)).timestamp())


async def test_a_flood_on_one_key_gets_429_with_retry_after_readable_by_the_page(
    core_client: httpx.AsyncClient,
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await new_key(
        core_client,
        owner,
        bot["id"],
        kind="publishable",
        allowed_origins=[SHOP],
        rate_limit_per_minute=5,
    )
    visitor = await start_session(core_client, key["key"], origin=SHOP)

    answers = [
        await core_client.get("/api/v1/public/conversations", headers=visitor.headers)
        for _ in range(6)
    ]

    # The session itself was the key's first request of the minute.
    assert [a.status_code for a in answers] == [200] * 4 + [429] * 2
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].headers["Access-Control-Allow-Origin"] == SHOP
    assert "Retry-After" in answers[-1].headers["Access-Control-Expose-Headers"]


async def test_one_end_user_cannot_spend_the_keys_allowance(
    core_settings: Settings, agent: AgentHarness, core_db: AsyncEngine
) -> None:
    settings = core_settings.model_copy(update={"public_messages_per_end_user_per_minute": 2})
    async with core_client_with_agent(settings, agent) as client:
        owner = await signup(client)
        bot = await create_bot(client, owner)
        key = await new_key(client, owner, bot["id"])
        greedy = await start_session(client, key["key"], end_user_id="greedy")
        modest = await start_session(client, key["key"], end_user_id="modest")
        statuses = {}
        for name, visitor in (("greedy", greedy), ("modest", modest)):
            made = await client.post(
                "/api/v1/public/conversations", json={}, headers=visitor.headers
            )
            url = f"/api/v1/public/conversations/{made.json()['id']}/messages"
            statuses[name] = [
                (await client.post(url, json={"content": "hi"}, headers=visitor.headers))
                for _ in range(3 if name == "greedy" else 1)
            ]

    assert [a.status_code for a in statuses["greedy"]] == [200, 200, 429]
    assert "Retry-After" in statuses["greedy"][-1].headers
    assert [a.status_code for a in statuses["modest"]] == [200]


async def test_keys_stop_working_when_the_owner_is_deactivated_or_the_bot_deleted(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    owner = await signup(core_client)
    bot, other_bot = await create_bot(core_client, owner), await create_bot(core_client, owner)
    key = await new_key(core_client, owner, bot["id"])
    other_key = await new_key(core_client, owner, other_bot["id"])
    visitor = await start_session(core_client, key["key"])

    await core_client.delete(f"/api/v1/bots/{bot['id']}", headers=owner.headers)
    after_delete = await core_client.get("/api/v1/public/conversations", headers=visitor.headers)
    async with core_db.begin() as connection:
        await connection.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"), {"id": uuid.UUID(owner.id)}
        )
    after_deactivation = await core_client.post(
        "/api/v1/public/sessions", json={}, headers={"Authorization": f"Bearer {other_key['key']}"}
    )

    assert after_delete.status_code == 401
    assert after_deactivation.status_code == 401

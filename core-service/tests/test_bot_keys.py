"""Bot keys: shown once, stored as hashes, revocable at once; ``BotKeyCaller`` refuses unknown
and revoked keys, publishable keys from other origins, and keys over their rate limit."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.botkeys.dependencies import BotKeyCaller
from core_service.botkeys.service import MAX_KEYS_PER_BOT
from testsupport.core_content import create_bot
from testsupport.core_schema import model_differences
from testsupport.core_users import SignedUpUser, signup

SHOP = "https://shop.example"


async def _new_key(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": "site", "kind": "secret", **fields}
    answer = await client.post(f"/api/v1/bots/{bot_id}/keys", json=body, headers=user.headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


@pytest.fixture
async def probe_client(core_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the core app with one extra route that only authenticates a bot key."""

    async def whoami(caller: BotKeyCaller) -> dict[str, str]:
        return {
            "key_id": str(caller.key_id),
            "kind": caller.kind.value,
            "bot_id": str(caller.bot_id),
            "owner_id": str(caller.owner_id),
        }

    core_app.add_api_route("/probe/bot-key", whoami, methods=["GET"])
    transport = httpx.ASGITransport(app=core_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://core.test") as client:
        yield client


async def test_a_key_is_shown_once_and_only_its_hash_is_stored(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)

    secret = await _new_key(core_client, owner, bot["id"])
    public = await _new_key(
        core_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP + "/"]
    )
    listed = await core_client.get(f"/api/v1/bots/{bot['id']}/keys", headers=owner.headers)

    assert secret["key"].startswith("sk_")
    assert public["key"].startswith("pk_")
    assert secret["key"].startswith(secret["prefix"])
    assert len(secret["key"]) > 40
    assert public["allowed_origins"] == [SHOP]
    assert listed.json()["total"] == 2
    assert all("key" not in item for item in listed.json()["items"])
    async with core_db.connect() as connection:
        stored = (await connection.execute(text("SELECT * FROM bot_keys"))).mappings().all()
    raw_keys = {secret["key"], public["key"]}
    assert {row["key_hash"] for row in stored} == {
        hashlib.sha256(key.encode()).hexdigest() for key in raw_keys
    }
    assert not any(key in str(dict(row)) for row in stored for key in raw_keys)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "kind": "publishable"},
        {"name": "x", "kind": "publishable", "allowed_origins": ["https://a.example/path"]},
        {"name": "x", "kind": "publishable", "allowed_origins": ["javascript:alert(1)"]},
        {"name": "x", "kind": "secret", "allowed_origins": [SHOP]},
        {"name": "x", "kind": "admin"},
        {"name": "x", "kind": "secret", "rate_limit_per_minute": 0},
    ],
)
async def test_invalid_keys_are_refused(
    core_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)

    answer = await core_client.post(
        f"/api/v1/bots/{bot['id']}/keys", json=body, headers=owner.headers
    )

    assert answer.status_code == 422, answer.text


async def test_the_identity_secret_is_stable_until_rotated(
    core_client: httpx.AsyncClient,
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    url = f"/api/v1/bots/{bot['id']}/identity-secret"

    first = (await core_client.get(url, headers=owner.headers)).json()["identity_secret"]
    again = (await core_client.get(url, headers=owner.headers)).json()["identity_secret"]
    rotated = await core_client.post(f"{url}/rotate", headers=owner.headers)
    after = (await core_client.get(url, headers=owner.headers)).json()["identity_secret"]

    assert first == again
    assert len(first) > 32
    assert rotated.json()["identity_secret"] == after != first


async def test_bot_key_caller_names_the_key_its_bot_and_owner(
    core_client: httpx.AsyncClient, probe_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await _new_key(core_client, owner, bot["id"])

    answer = await probe_client.get(
        "/probe/bot-key", headers={"Authorization": f"Bearer {key['key']}"}
    )
    listed = await core_client.get(f"/api/v1/bots/{bot['id']}/keys", headers=owner.headers)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "key_id": key["id"],
        "kind": "secret",
        "bot_id": bot["id"],
        "owner_id": owner.id,
    }
    assert key["last_used_at"] is None
    assert listed.json()["items"][0]["last_used_at"] is not None


async def test_an_unknown_or_revoked_key_is_401_at_once(
    core_client: httpx.AsyncClient, probe_client: httpx.AsyncClient
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await _new_key(core_client, owner, bot["id"])
    auth = {"Authorization": f"Bearer {key['key']}"}
    assert (await probe_client.get("/probe/bot-key", headers=auth)).status_code == 200

    revoked = await core_client.delete(
        f"/api/v1/bots/{bot['id']}/keys/{key['id']}", headers=owner.headers
    )
    after = await probe_client.get("/probe/bot-key", headers=auth)
    again = await core_client.delete(
        f"/api/v1/bots/{bot['id']}/keys/{key['id']}", headers=owner.headers
    )
    unknown = await probe_client.get(
        "/probe/bot-key", headers={"Authorization": "Bearer sk_" + "x" * 43}
    )
    missing = await probe_client.get("/probe/bot-key")
    owner_token = await probe_client.get("/probe/bot-key", headers=owner.headers)

    assert (revoked.status_code, again.status_code) == (204, 404)
    assert [a.status_code for a in (after, unknown, missing, owner_token)] == [401] * 4
    assert after.json()["error"] == "InvalidBotKey"
    assert after.headers["WWW-Authenticate"] == "Bearer"


async def test_a_publishable_key_works_only_from_its_origins(
    core_client: httpx.AsyncClient, probe_client: httpx.AsyncClient
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await _new_key(core_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP])
    auth = {"Authorization": f"Bearer {key['key']}"}

    allowed = await probe_client.get("/probe/bot-key", headers={**auth, "Origin": SHOP})
    other = await probe_client.get(
        "/probe/bot-key", headers={**auth, "Origin": "https://evil.example"}
    )
    no_origin = await probe_client.get("/probe/bot-key", headers=auth)

    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["kind"] == "publishable"
    assert (other.status_code, no_origin.status_code) == (403, 403)
    assert other.json()["error"] == no_origin.json()["error"] == "OriginNotAllowed"


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    core_client: httpx.AsyncClient, probe_client: httpx.AsyncClient
) -> None:
    owner = await signup(core_client)
    bot = await create_bot(core_client, owner)
    limited = await _new_key(core_client, owner, bot["id"], rate_limit_per_minute=3)
    other = await _new_key(core_client, owner, bot["id"])

    answers = [
        await probe_client.get(
            "/probe/bot-key", headers={"Authorization": f"Bearer {limited['key']}"}
        )
        for _ in range(5)
    ]
    unaffected = await probe_client.get(
        "/probe/bot-key", headers={"Authorization": f"Bearer {other['key']}"}
    )

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert unaffected.status_code == 200


async def test_a_bot_has_at_most_max_keys_in_use_and_a_revoked_one_frees_its_place(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    bot = await create_bot(core_client, user)
    keys = [await _new_key(core_client, user, bot["id"]) for _ in range(MAX_KEYS_PER_BOT)]
    url = f"/api/v1/bots/{bot['id']}/keys"
    one_more = {"name": "one more", "kind": "secret"}
    refused = await core_client.post(url, json=one_more, headers=user.headers)
    assert refused.status_code == 409
    assert refused.json()["error"] == "TooManyBotKeys"
    revoked = await core_client.delete(f"{url}/{keys[0]['id']}", headers=user.headers)
    assert revoked.status_code == 204
    await _new_key(core_client, user, bot["id"])


async def test_keys_of_another_users_bot_are_404(core_client: httpx.AsyncClient) -> None:
    owner = await signup(core_client)
    intruder = await signup(core_client)
    bot = await create_bot(core_client, owner)
    key = await _new_key(core_client, owner, bot["id"])
    base = f"/api/v1/bots/{bot['id']}"

    answers = [
        await core_client.get(f"{base}/keys", headers=intruder.headers),
        await core_client.post(
            f"{base}/keys", json={"name": "x", "kind": "secret"}, headers=intruder.headers
        ),
        await core_client.delete(f"{base}/keys/{key['id']}", headers=intruder.headers),
        await core_client.get(f"{base}/identity-secret", headers=intruder.headers),
        await core_client.post(f"{base}/identity-secret/rotate", headers=intruder.headers),
        await core_client.delete(f"{base}/keys/{uuid.uuid4()}", headers=owner.headers),
    ]

    assert [a.status_code for a in answers] == [404] * 6


async def test_the_key_tables_match_their_models(core_db: AsyncEngine) -> None:
    tables = ("bot_keys", "bot_identity_secrets", "conversations")
    assert await model_differences(core_db, *tables) == []

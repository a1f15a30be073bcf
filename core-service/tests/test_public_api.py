"""The public chat API: end users talk to one bot through its keys, with the owner's chat turn,
and see nothing but their own conversations."""

import uuid

import httpx
from fastapi import FastAPI

from core_service.config import Settings
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_public import end_user_hash, new_key, start_session
from testsupport.core_users import signup

SHOP = "https://shop.example"
VOLCANO = b"Volcanoes erupt molten basalt lava from magma chambers deep underground."


def _events(body: str) -> list[str]:
    return [
        line.removeprefix("event: ") for line in body.splitlines() if line.startswith("event: ")
    ]


async def test_an_anonymous_visitor_chats_through_a_publishable_key(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    await upload(content_client, owner, bot["id"], "volcano.txt", VOLCANO)
    await drain(make_worker(content_app, core_settings, worker_id="w1"))
    key = await new_key(
        content_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP]
    )
    visitor = await start_session(content_client, key["key"], origin=SHOP)

    created = await content_client.post(
        "/api/v1/public/conversations", json={}, headers=visitor.headers
    )
    conversation = created.json()["id"]
    base = f"/api/v1/public/conversations/{conversation}"
    turn = await content_client.post(
        f"{base}/messages", json={"content": "What do volcanoes erupt?"}, headers=visitor.headers
    )
    streamed = await content_client.post(
        f"{base}/messages/stream", json={"content": "Where is magma?"}, headers=visitor.headers
    )
    answer_id = turn.json()["assistant_message"]["id"]
    rated = await content_client.put(
        f"{base}/messages/{answer_id}/feedback", json={"rating": "up"}, headers=visitor.headers
    )
    messages = await content_client.get(f"{base}/messages", headers=visitor.headers)
    listed = await content_client.get("/api/v1/public/conversations", headers=visitor.headers)

    assert visitor.end_user_id.startswith("anon_")
    assert created.status_code == 201, created.text
    assert created.json()["end_user_id"] == visitor.end_user_id
    assert turn.status_code == 200, turn.text
    assert turn.json()["assistant_message"]["citations"][0]["document_name"] == "volcano.txt"
    assert _events(streamed.text)[-1] == "done"
    assert rated.json()["feedback"] == {"rating": "up", "comment": None}
    assert [m["role"] for m in messages.json()["items"]] == ["user", "assistant"] * 2
    assert [c["id"] for c in listed.json()["items"]] == [conversation]
    assert turn.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in turn.headers


async def test_the_owner_sees_end_users_conversations_usage_and_analytics(
    content_client: httpx.AsyncClient,
) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(content_client, owner, bot["id"])
    alice = await start_session(content_client, key["key"], end_user_id="alice")
    bob = await start_session(content_client, key["key"], end_user_id="bob")
    own = await content_client.post(
        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=owner.headers
    )
    for visitor in (alice, bob, alice):
        made = await content_client.post(
            "/api/v1/public/conversations", json={}, headers=visitor.headers
        )
        sent = await content_client.post(
            f"/api/v1/public/conversations/{made.json()['id']}/messages",
            json={"content": "hello"},
            headers=visitor.headers,
        )
        assert sent.status_code == 200, sent.text
    url = f"/api/v1/bots/{bot['id']}/conversations"

    everything = await content_client.get(url, headers=owner.headers)
    alices = await content_client.get(url, params={"end_user_id": "alice"}, headers=owner.headers)
    analytics = await content_client.get(
        f"/api/v1/bots/{bot['id']}/analytics", headers=owner.headers
    )
    usage = await content_client.get("/api/v1/usage", headers=owner.headers)

    owners_view = {c["id"]: c["end_user_id"] for c in everything.json()["items"]}
    assert owners_view[own.json()["id"]] is None
    assert sorted(v for v in owners_view.values() if v) == ["alice", "alice", "bob"]
    assert [c["end_user_id"] for c in alices.json()["items"]] == ["alice", "alice"]
    assert analytics.json()["end_users"] == 2
    assert usage.json()["messages"]["used"] == 3


async def test_verified_end_users_need_the_owners_hmac(
    content_client: httpx.AsyncClient,
) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(
        content_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP]
    )
    secret_url = f"/api/v1/bots/{bot['id']}/identity-secret"
    secret = (await content_client.get(secret_url, headers=owner.headers)).json()
    identity = secret["identity_secret"]
    auth = {"Authorization": f"Bearer {key['key']}", "Origin": SHOP}

    async def session_as(body: dict[str, str]) -> httpx.Response:
        return await content_client.post("/api/v1/public/sessions", json=body, headers=auth)

    verified = await session_as(
        {"end_user_id": "alice", "end_user_hash": end_user_hash(identity, "alice")}
    )
    no_hash = await session_as({"end_user_id": "alice"})
    others_hash = await session_as(
        {"end_user_id": "alice", "end_user_hash": end_user_hash(identity, "bob")}
    )
    await content_client.post(f"{secret_url}/rotate", headers=owner.headers)
    old_secret = await session_as(
        {"end_user_id": "alice", "end_user_hash": end_user_hash(identity, "alice")}
    )

    assert verified.status_code == 201, verified.text
    assert verified.json()["end_user_id"] == "alice"
    assert verified.json()["bot"] == {"id": bot["id"], "name": "Helper", "description": ""}
    refused = [no_hash, others_hash, old_secret]
    assert [(a.status_code, a.json()["error"]) for a in refused] == [
        (403, "InvalidEndUserHash")
    ] * 3


async def test_a_secret_key_names_end_users_itself_without_an_origin(
    content_client: httpx.AsyncClient,
) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(content_client, owner, bot["id"])

    named = await start_session(content_client, key["key"], end_user_id="customer-42")
    anonymous = await start_session(content_client, key["key"])

    assert named.end_user_id == "customer-42"
    assert anonymous.end_user_id.startswith("anon_")


async def test_cors_preflights_answer_only_published_origins(
    content_client: httpx.AsyncClient,
) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    await new_key(content_client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP])
    preflight = {"Access-Control-Request-Method": "POST"}

    allowed = await content_client.options(
        "/api/v1/public/sessions", headers={**preflight, "Origin": SHOP}
    )
    other = await content_client.options(
        "/api/v1/public/conversations/x/messages",
        headers={**preflight, "Origin": "https://evil.example"},
    )
    owner_route = await content_client.get(
        "/api/v1/bots", headers={**owner.headers, "Origin": SHOP}
    )

    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in owner_route.headers


async def test_message_bodies_are_bounded(content_client: httpx.AsyncClient) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(content_client, owner, bot["id"])
    visitor = await start_session(content_client, key["key"])
    made = await content_client.post(
        "/api/v1/public/conversations", json={}, headers=visitor.headers
    )
    url = f"/api/v1/public/conversations/{made.json()['id']}/messages"

    too_long = await content_client.post(
        url, json={"content": "x" * 40_000}, headers=visitor.headers
    )
    too_big = await content_client.post(
        url, json={"content": "x" * 3_000_000}, headers=visitor.headers
    )
    empty = await content_client.post(url, json={"content": ""}, headers=visitor.headers)

    assert (too_long.status_code, too_big.status_code, empty.status_code) == (422, 413, 422)


async def test_enumerating_conversation_ids_finds_nothing(
    content_client: httpx.AsyncClient,
) -> None:
    owner = await signup(content_client)
    bot = await create_bot(content_client, owner)
    key = await new_key(content_client, owner, bot["id"], rate_limit_per_minute=1_000)
    visitor = await start_session(content_client, key["key"])

    answers = [
        await content_client.get(
            f"/api/v1/public/conversations/{uuid.uuid4()}/messages", headers=visitor.headers
        )
        for _ in range(20)
    ]
    malformed = await content_client.get(
        "/api/v1/public/conversations/1/messages", headers=visitor.headers
    )

    assert {a.status_code for a in answers} == {404}
    assert malformed.status_code == 422

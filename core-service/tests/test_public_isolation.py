"""The isolation matrix over the real API: end user x end user, end user x owner, bot x bot
(same owner and another owner), and key kinds x routes: a bot key or an end-user session never
reaches an owner route, and an owner's token never passes as either."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from testsupport.core_content import create_bot
from testsupport.core_public import EndUserSession, new_key, start_session
from testsupport.core_users import SignedUpUser, signup

SHOP = "https://shop.example"
BEARER_SCHEME = "OAuth2PasswordBearer"
PUBLIC_PREFIX = "/api/v1/public/"


@dataclass(frozen=True)
class Held:
    """A conversation with one message exchange, and who can use it."""

    conversation_id: str
    answer_id: str
    headers: dict[str, str]


async def _chat(client: httpx.AsyncClient, visitor: EndUserSession) -> Held:
    made = await client.post("/api/v1/public/conversations", json={}, headers=visitor.headers)
    assert made.status_code == 201, made.text
    conversation_id = made.json()["id"]
    turn = await client.post(
        f"/api/v1/public/conversations/{conversation_id}/messages",
        json={"content": "hello"},
        headers=visitor.headers,
    )
    assert turn.status_code == 200, turn.text
    return Held(conversation_id, turn.json()["assistant_message"]["id"], visitor.headers)


async def _owners_chat(client: httpx.AsyncClient, owner: SignedUpUser, bot_id: str) -> Held:
    made = await client.post(f"/api/v1/bots/{bot_id}/conversations", json={}, headers=owner.headers)
    turn = await client.post(
        f"/api/v1/conversations/{made.json()['id']}/messages",
        json={"content": "hello"},
        headers=owner.headers,
    )
    assert turn.status_code == 200, turn.text
    return Held(made.json()["id"], turn.json()["assistant_message"]["id"], owner.headers)


def _conversation_requests(held: Held) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/v1/public/conversations/{held.conversation_id}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/messages", {"content": "let me in"}),
        ("POST", f"{base}/messages/stream", {"content": "let me in"}),
        ("PUT", f"{base}/messages/{held.answer_id}/feedback", {"rating": "down"}),
    ]


async def test_end_users_reach_only_their_own_conversations(
    content_client: httpx.AsyncClient,
) -> None:
    client = content_client
    owner, other_owner = await signup(client), await signup(client)
    bot, sibling_bot = await create_bot(client, owner), await create_bot(client, owner)
    foreign_bot = await create_bot(client, other_owner)
    secret = await new_key(client, owner, bot["id"])
    public = await new_key(client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP])
    sibling_key = await new_key(client, owner, sibling_bot["id"])
    foreign_key = await new_key(client, other_owner, foreign_bot["id"])
    # The same end-user id on three bots, and a second end user on the first.
    visitors = {
        "alice@bot": await start_session(client, secret["key"], end_user_id="alice"),
        "anon@bot": await start_session(client, public["key"], origin=SHOP),
        "alice@sibling": await start_session(client, sibling_key["key"], end_user_id="alice"),
        "alice@foreign": await start_session(client, foreign_key["key"], end_user_id="alice"),
    }
    held = {name: await _chat(client, visitor) for name, visitor in visitors.items()}
    held["owner"] = await _owners_chat(client, owner, bot["id"])

    wrong = {}
    for name, visitor in visitors.items():
        for victim, conversation in held.items():
            if victim == name:
                continue
            for method, url, body in _conversation_requests(conversation):
                answer = await client.request(method, url, json=body, headers=visitor.headers)
                if (answer.status_code, answer.json().get("error")) != (404, "NotFound"):
                    wrong[name, victim, method, url] = answer.status_code
        listed = await client.get("/api/v1/public/conversations", headers=visitor.headers)
        assert [c["id"] for c in listed.json()["items"]] == [held[name].conversation_id]

    assert wrong == {}
    for name, conversation in held.items():
        messages = await client.get(
            f"/api/v1/public/conversations/{conversation.conversation_id}/messages",
            headers=conversation.headers,
        )
        if name == "owner":
            messages = await client.get(
                f"/api/v1/conversations/{conversation.conversation_id}/messages",
                headers=owner.headers,
            )
        items = messages.json()["items"]
        assert [m["content"] for m in items if m["role"] == "user"] == ["hello"]
        assert all(m["feedback"] is None for m in items)
    # The owner of a bot sees its end users' conversations; another owner does not.
    alices = f"/api/v1/conversations/{held['alice@bot'].conversation_id}"
    assert (await client.get(alices, headers=owner.headers)).status_code == 200
    assert (await client.get(alices, headers=other_owner.headers)).status_code == 404


def _owner_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) an owner's access token opens, read from the OpenAPI document."""
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if any(BEARER_SCHEME in need for need in operation.get("security", []))
    )


def _public_operations(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(PUBLIC_PREFIX)
        for method in operations
    )


def _filled(path: str, ids: dict[str, str]) -> str:
    names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    return path.format(**{name: ids.get(name, str(uuid.uuid4())) for name in names})


async def test_bot_keys_and_sessions_never_open_an_owner_route(
    content_client: httpx.AsyncClient, content_app: FastAPI
) -> None:
    client = content_client
    owner = await signup(client)
    bot = await create_bot(client, owner)
    secret = await new_key(client, owner, bot["id"])
    public = await new_key(client, owner, bot["id"], kind="publishable", allowed_origins=[SHOP])
    server_session = await start_session(client, secret["key"], end_user_id="alice")
    browser_session = await start_session(client, public["key"], origin=SHOP)
    held = await _chat(client, server_session)
    ids = {
        "bot_id": bot["id"],
        "conversation_id": held.conversation_id,
        "message_id": held.answer_id,
        "key_id": secret["id"],
        "user_id": owner.id,
    }
    credentials = {
        "secret key": {"Authorization": f"Bearer {secret['key']}"},
        "publishable key": {"Authorization": f"Bearer {public['key']}", "Origin": SHOP},
        "server session": server_session.headers,
        "browser session": browser_session.headers,
    }
    operations = _owner_operations(content_app)

    wrong = {}
    for kind, headers in credentials.items():
        for method, path in operations:
            body = None if method in {"GET", "DELETE"} else {}
            answer = await client.request(method, _filled(path, ids), json=body, headers=headers)
            if answer.status_code != 401:
                wrong[kind, method, path] = answer.status_code

    assert len(operations) >= 30
    assert ("GET", "/api/v1/auth/me") in operations
    assert ("GET", "/api/v1/bots/{bot_id}/keys") in operations
    assert ("GET", "/api/v1/bots/{bot_id}/documents") in operations
    assert wrong == {}
    assert (await client.get(f"/api/v1/bots/{bot['id']}", headers=owner.headers)).json()[
        "name"
    ] == bot["name"]


async def test_an_owners_token_or_the_wrong_credential_never_opens_a_public_route(
    content_client: httpx.AsyncClient, content_app: FastAPI
) -> None:
    client = content_client
    owner = await signup(client)
    bot = await create_bot(client, owner)
    secret = await new_key(client, owner, bot["id"])
    visitor = await start_session(client, secret["key"], end_user_id="alice")
    held = await _chat(client, visitor)
    ids = {"conversation_id": held.conversation_id, "message_id": held.answer_id}
    operations = _public_operations(content_app)
    key_header = {"Authorization": f"Bearer {secret['key']}"}

    answers = {}
    for method, path in operations:
        body = None if method == "GET" else {"content": "hi", "rating": "up"}
        url = _filled(path, ids)
        wrong_credential = visitor.headers if path.endswith("/sessions") else key_header
        for name, headers in (("owner", owner.headers), ("swapped", wrong_credential)):
            if path.endswith("/sessions"):
                body = {}
            answer = await client.request(method, url, json=body, headers=headers)
            answers[name, method, path] = (answer.status_code, answer.json()["error"])

    assert len(operations) >= 8
    expected = {"InvalidSession", "InvalidBotKey"}
    assert {k: a for k, a in answers.items() if a[0] != 401 or a[1] not in expected} == {}


def test_every_public_route_takes_a_key_or_a_session_and_nothing_else(
    content_app: FastAPI,
) -> None:
    schemes = {
        (method.upper(), path): {name for need in operation.get("security", []) for name in need}
        for path, operations in content_app.openapi()["paths"].items()
        if path.startswith(PUBLIC_PREFIX)
        for method, operation in operations.items()
    }

    assert schemes.pop(("POST", "/api/v1/public/sessions")) == {"BotKey"}
    assert len(schemes) >= 7
    assert {key: names for key, names in schemes.items() if names != {"EndUserSession"}} == {}

"""Another user's bot, document or conversation is 404 on every route, and stays untouched."""

import httpx
from fastapi import FastAPI

from testsupport.core_content import create_bot, upload
from testsupport.core_users import signup

OWNED_PREFIXES = (
    "/api/v1/bots/{bot_id}",
    "/api/v1/conversations/{conversation_id}",
    "/api/v1/webhooks/{webhook_id}",
)


def _owned_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation on a bot, document or conversation, read from the OpenAPI schema."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(OWNED_PREFIXES)
        for method in operations
    }


async def test_every_route_answers_404_for_someone_elses_objects(
    content_client: httpx.AsyncClient, content_app: FastAPI
) -> None:
    owner = await signup(content_client)
    intruder = await signup(content_client)
    bot = await create_bot(content_client, owner)
    document = (await upload(content_client, owner, bot["id"], "a.txt", b"Private facts.")).json()
    # Never called here (no worker runs); the name need not resolve.
    webhook = (
        await content_client.post(
            "/api/v1/webhooks",
            json={"url": "https://hooks.example.invalid/", "events": ["conversation.message"]},
            headers=owner.headers,
        )
    ).json()
    conversation = (
        await content_client.post(
            f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=owner.headers
        )
    ).json()
    turn = await content_client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"content": "Any private facts?"},
        headers=owner.headers,
    )
    assert turn.status_code == 200, turn.text
    evaluation = (
        await content_client.post(
            f"/api/v1/bots/{bot['id']}/evaluations",
            json={"questions": [{"question": "hi"}]},
            headers=owner.headers,
        )
    ).json()
    deliveries = await content_client.get(
        f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=owner.headers
    )
    key = await content_client.post(
        f"/api/v1/bots/{bot['id']}/keys",
        json={"name": "k", "kind": "secret"},
        headers=owner.headers,
    )
    # Never fetched here (no worker runs); the name need not resolve.
    source = (
        await content_client.post(
            f"/api/v1/bots/{bot['id']}/sources",
            json={"kind": "url", "url": "https://docs.example.invalid/"},
            headers=owner.headers,
        )
    ).json()
    ids = {
        "key_id": key.json()["id"],
        "bot_id": bot["id"],
        "webhook_id": webhook["id"],
        "delivery_id": deliveries.json()["items"][0]["id"],
        "source_id": source["id"],
        "document_id": document["id"],
        "conversation_id": conversation["id"],
        "message_id": turn.json()["assistant_message"]["id"],
        "evaluation_id": evaluation["id"],
    }
    bodies = {
        ("POST", "/api/v1/bots/{bot_id}/documents/text"): {"name": "x", "content": "y"},
        ("PATCH", "/api/v1/bots/{bot_id}"): {"name": "stolen"},
        ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"enabled": False},
        ("POST", "/api/v1/bots/{bot_id}/conversations"): {},
        ("POST", "/api/v1/bots/{bot_id}/keys"): {"name": "stolen", "kind": "secret"},
        ("POST", "/api/v1/bots/{bot_id}/evaluations"): {"questions": [{"question": "hi"}]},
        ("POST", "/api/v1/bots/{bot_id}/sources"): {"kind": "url", "url": "https://a.invalid/"},
        ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"content": "hi"},
        ("POST", "/api/v1/conversations/{conversation_id}/messages/stream"): {"content": "hi"},
        ("PUT", "/api/v1/conversations/{conversation_id}/messages/{message_id}/feedback"): {
            "rating": "down"
        },
    }
    routes = _owned_routes(content_app)

    answers = {}
    for method, path in sorted(routes):
        url = path.format(**ids)
        if (method, path) == ("POST", "/api/v1/bots/{bot_id}/documents"):
            answers[method, path] = await upload(content_client, intruder, bot["id"], "x.txt", b"x")
            continue
        answers[method, path] = await content_client.request(
            method, url, json=bodies.get((method, path)), headers=intruder.headers
        )

    assert len(routes) >= 15
    wrong = {key: a.status_code for key, a in answers.items() if a.status_code != 404}
    assert wrong == {}
    assert all(a.json()["error"] == "NotFound" for a in answers.values())
    still = await content_client.get(f"/api/v1/bots/{bot['id']}", headers=owner.headers)
    assert still.json()["name"] == bot["name"]
    kept = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents/{document['id']}", headers=owner.headers
    )
    assert kept.status_code == 200
    hook = await content_client.get(f"/api/v1/webhooks/{webhook['id']}", headers=owner.headers)
    assert hook.json()["enabled"] is True
    keys = await content_client.get(f"/api/v1/bots/{bot['id']}/keys", headers=owner.headers)
    assert [k["name"] for k in keys.json()["items"]] == ["k"]


async def test_a_document_cannot_be_reached_through_another_bot(
    content_client: httpx.AsyncClient,
) -> None:
    owner = await signup(content_client)
    intruder = await signup(content_client)
    victim_bot = await create_bot(content_client, owner)
    own_bot = await create_bot(content_client, intruder)
    document = (await upload(content_client, owner, victim_bot["id"], "a.txt", b"Secret.")).json()

    through_own_bot = await content_client.get(
        f"/api/v1/bots/{own_bot['id']}/documents/{document['id']}/chunks",
        headers=intruder.headers,
    )
    deleted = await content_client.delete(
        f"/api/v1/bots/{own_bot['id']}/documents/{document['id']}", headers=intruder.headers
    )

    assert (through_own_bot.status_code, deleted.status_code) == (404, 404)


async def test_requests_without_a_token_are_401(content_client: httpx.AsyncClient) -> None:
    answer = await content_client.get("/api/v1/bots")

    assert answer.status_code == 401

"""Hostile input gets a clear 4xx with the error body, and the service keeps serving."""

import json

import httpx
import pytest

from testsupport.core_content import create_bot
from testsupport.core_users import signup


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "nul \\u0000 inside"}',
        b'{"name": "lone \\ud800 surrogate"}',
        b'{"name": "ok", "description": "nul \\u0000 inside"}',
    ],
    ids=["nul-in-name", "surrogate-in-name", "nul-in-description"],
)
async def test_text_the_database_cannot_store_is_422(
    core_client: httpx.AsyncClient, body: bytes
) -> None:
    user = await signup(core_client)
    headers = {**user.headers, "content-type": "application/json"}
    response = await core_client.post("/api/v1/bots", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] in {"InvalidInput", "ValidationError"}
    assert (await core_client.get("/api/v1/bots", headers=user.headers)).status_code == 200


async def test_invalid_utf8_json_is_400(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    headers = {**user.headers, "content-type": "application/json"}
    response = await core_client.post(
        "/api/v1/bots", content=b'{"name": "\xff\xfe"}', headers=headers
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "BadRequest",
        "detail": "There was an error parsing the body",
    }


async def test_deeply_nested_json_is_refused_without_harm(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    nested = "[" * 100_000 + "]" * 100_000
    body = f'{{"name": "deep", "configuration": {{"tools": {nested}}}}}'
    headers = {**user.headers, "content-type": "application/json"}
    response = await core_client.post("/api/v1/bots", content=body.encode(), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"
    assert (await core_client.get("/healthz")).status_code == 200


async def test_oversized_json_body_is_413(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    body = json.dumps({"name": "big", "description": "x" * 3_000_000})
    headers = {**user.headers, "content-type": "application/json"}
    response = await core_client.post("/api/v1/bots", content=body.encode(), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


@pytest.mark.parametrize(
    "configuration",
    [
        {"chunk_overlap": False},
        {"temperature": "0.5"},
        {"top_k": True},
        {"system_prompt": "a\x00b"},
    ],
    ids=["overlap=false", "temperature='0.5'", "top_k=true", "nul-prompt"],
)
async def test_bot_configuration_is_not_coerced(
    core_client: httpx.AsyncClient, configuration: dict[str, object]
) -> None:
    user = await signup(core_client)
    body = {"name": "strict", "configuration": configuration}
    response = await core_client.post("/api/v1/bots", json=body, headers=user.headers)
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"


async def test_an_absurd_offset_is_422_not_a_database_error(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    response = await core_client.get(
        "/api/v1/bots", params={"offset": 10**25}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["fields"][0]["loc"] == ["query", "offset"]


@pytest.mark.parametrize(
    "body",
    [b'{"content": "nul \\u0000 inside"}', b'{"content": "lone \\ud800 surrogate"}'],
    ids=["nul", "surrogate"],
)
@pytest.mark.parametrize("path", ["", "/stream"], ids=["message", "stream"])
async def test_a_chat_message_the_database_cannot_store_is_422_and_not_counted(
    core_client: httpx.AsyncClient, body: bytes, path: str
) -> None:
    user = await signup(core_client)
    bot = await create_bot(core_client, user)
    conversation = await core_client.post(
        f"/api/v1/bots/{bot['id']}/conversations", json={}, headers=user.headers
    )
    url = f"/api/v1/conversations/{conversation.json()['id']}/messages"
    headers = {**user.headers, "content-type": "application/json"}

    response = await core_client.post(f"{url}{path}", content=body, headers=headers)
    usage = await core_client.get("/api/v1/usage", headers=user.headers)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"
    assert usage.json()["messages"]["used"] == 0
    assert (await core_client.get(url, headers=user.headers)).json()["items"] == []

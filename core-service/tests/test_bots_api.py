"""Bot CRUD, configuration bounds, pagination and deletion with everything it owns."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import signup


async def test_a_bot_gets_the_documented_configuration_defaults(
    content_client: httpx.AsyncClient,
) -> None:
    user = await signup(content_client)

    created = await content_client.post(
        "/api/v1/bots", json={"name": "Support"}, headers=user.headers
    )
    fetched = await content_client.get(f"/api/v1/bots/{created.json()['id']}", headers=user.headers)

    assert created.status_code == 201
    body = fetched.json()
    assert body["owner_id"] == user.id
    assert body["description"] == ""
    configuration = body["configuration"]
    assert configuration["agent_type"] == "rag"
    assert configuration["temperature"] == 0.2
    assert (configuration["top_k"], configuration["chunk_size"]) == (5, 1000)
    assert configuration["chunk_overlap"] < configuration["chunk_size"]
    assert configuration["system_prompt"]
    assert configuration["tools"] == []


@pytest.mark.parametrize(
    "configuration",
    [
        {"temperature": 2.5},
        {"temperature": -0.1},
        {"agent_type": "planner"},
        {"top_k": 0},
        {"top_k": 51},
        {"chunk_size": 500, "chunk_overlap": 500},
        {"unknown": True},
    ],
)
async def test_configuration_outside_its_bounds_is_422(
    content_client: httpx.AsyncClient, configuration: dict[str, object]
) -> None:
    user = await signup(content_client)

    answer = await content_client.post(
        "/api/v1/bots",
        json={"name": "x", "configuration": configuration},
        headers=user.headers,
    )

    assert answer.status_code == 422
    assert answer.json()["error"] == "ValidationError"


async def test_patch_merges_configuration_and_checks_the_result(
    content_client: httpx.AsyncClient,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user, chunk_size=400, chunk_overlap=50)
    url = f"/api/v1/bots/{bot['id']}"

    renamed = await content_client.patch(
        url,
        json={"name": "Renamed", "configuration": {"temperature": 1.5, "agent_type": "react"}},
        headers=user.headers,
    )
    overlap_too_big = await content_client.patch(
        url, json={"configuration": {"chunk_overlap": 400}}, headers=user.headers
    )

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"
    configuration = renamed.json()["configuration"]
    assert (configuration["temperature"], configuration["agent_type"]) == (1.5, "react")
    assert configuration["chunk_size"] == 400
    assert overlap_too_big.status_code == 422
    assert overlap_too_big.json()["fields"][0]["loc"][:2] == ["body", "configuration"]


async def test_bots_are_listed_newest_first_in_pages(content_client: httpx.AsyncClient) -> None:
    user = await signup(content_client)
    other = await signup(content_client)
    names = []
    for n in range(3):
        names.append(f"bot {n}")
        await content_client.post("/api/v1/bots", json={"name": names[-1]}, headers=user.headers)
    await create_bot(content_client, other)

    first = await content_client.get("/api/v1/bots?limit=2", headers=user.headers)
    second = await content_client.get("/api/v1/bots?limit=2&offset=2", headers=user.headers)
    default = await content_client.get("/api/v1/bots", headers=user.headers)

    assert [b["name"] for b in first.json()["items"]] == ["bot 2", "bot 1"]
    assert [b["name"] for b in second.json()["items"]] == ["bot 0"]
    assert (first.json()["total"], default.json()["limit"], default.json()["offset"]) == (3, 20, 0)


async def test_the_plan_caps_the_number_of_bots(content_client: httpx.AsyncClient) -> None:
    user = await signup(content_client)
    for _ in range(3):  # the free plan allows three
        await create_bot(content_client, user)

    refused = await content_client.post("/api/v1/bots", json={"name": "4"}, headers=user.headers)
    bots = (await content_client.get("/api/v1/bots", headers=user.headers)).json()
    await content_client.delete(f"/api/v1/bots/{bots['items'][0]['id']}", headers=user.headers)
    allowed_again = await content_client.post(
        "/api/v1/bots", json={"name": "4"}, headers=user.headers
    )

    assert refused.status_code == 429
    assert refused.json()["error"] == "QuotaExceeded"
    assert int(refused.headers["retry-after"]) > 0
    assert allowed_again.status_code == 201


async def test_deleting_a_bot_removes_documents_conversations_and_vectors(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    namespace = f"bot-{bot['id']}"
    worker = make_worker(content_app, core_settings, worker_id="w1")
    for n in range(3):
        await upload(content_client, user, bot["id"], f"{n}.txt", f"Fact number {n}.".encode())
    await content_client.post(
        f"/api/v1/bots/{bot['id']}/conversations", json={"title": "t"}, headers=user.headers
    )
    await drain(worker)
    indexed = await count_vectors(agent.database_url, namespace=namespace)

    deleted = await content_client.delete(f"/api/v1/bots/{bot['id']}", headers=user.headers)
    await drain(worker)
    async with core_db.connect() as connection:
        left = await connection.scalar(
            text(
                "SELECT (SELECT count(*) FROM documents) + (SELECT count(*) FROM chunks)"
                " + (SELECT count(*) FROM conversations) + (SELECT count(*) FROM jobs)"
            )
        )
    usage = (await content_client.get("/api/v1/usage", headers=user.headers)).json()

    assert deleted.status_code == 204
    assert indexed == (3, 3)
    assert await count_vectors(agent.database_url, namespace=namespace) == (0, 0)
    assert left == 0
    assert (usage["bots"]["used"], usage["documents"]["used"], usage["stored_bytes"]["used"]) == (
        0,
        0,
        0,
    )


async def test_the_bot_list_answers_401_once_the_owner_is_deactivated_or_deleted(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    # The list checks the owner in its own query instead of loading the user first.
    staff = await signup(core_client, engine=core_db, staff=True)
    user = await signup(core_client)
    empty = await core_client.get("/api/v1/bots", headers=user.headers)
    await create_bot(core_client, user)
    listed = await core_client.get("/api/v1/bots", headers=user.headers)
    await core_client.post(f"/api/v1/admin/users/{user.id}/deactivate", headers=staff.headers)
    deactivated = await core_client.get("/api/v1/bots", headers=user.headers)
    async with core_db.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
    deleted = await core_client.get("/api/v1/bots", headers=user.headers)

    assert empty.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert (listed.status_code, listed.json()["total"]) == (200, 1)
    assert (deactivated.status_code, deactivated.json()["error"]) == (401, "InvalidToken")
    assert (deleted.status_code, deleted.json()["error"]) == (401, "InvalidToken")


async def test_a_listed_bot_reads_exactly_as_the_bot_itself(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    # The list is written as JSON by PostgreSQL; the single bot goes through the ORM.
    user = await signup(core_client)
    configuration = {"system_prompt": 'Answer in French, "briefly" \\ politely.', "top_k": 7}
    created = await core_client.post(
        "/api/v1/bots",
        json={"name": "Ünïcode ✓", "description": "line\nbreak", "configuration": configuration},
        headers=user.headers,
    )
    async with core_db.begin() as connection:  # a stored configuration from before a new field
        await connection.execute(
            text("UPDATE bots SET configuration = configuration - 'tools' WHERE id = :id"),
            {"id": created.json()["id"]},
        )
        await connection.execute(  # a whole second is written without a fraction
            text(
                "UPDATE bots SET created_at = '2026-01-02 03:04:05+00',"
                " updated_at = '2026-01-02 03:04:05.0123+00' WHERE id = :id"
            ),
            {"id": created.json()["id"]},
        )
        # A server whose default time zone is not UTC (new connections take it up).
        await connection.execute(text("ALTER ROLE CURRENT_USER SET timezone = 'Asia/Kolkata'"))
    try:
        listed = await core_client.get("/api/v1/bots", headers=user.headers)
    finally:
        async with core_db.begin() as connection:
            await connection.execute(text("ALTER ROLE CURRENT_USER RESET timezone"))
    single = await core_client.get(f"/api/v1/bots/{created.json()['id']}", headers=user.headers)

    assert listed.json()["items"] == [single.json()]
    assert single.json()["configuration"]["tools"] == []
    assert single.json()["created_at"] == "2026-01-02T03:04:05Z"
    assert single.json()["updated_at"] == "2026-01-02T03:04:05.012300Z"

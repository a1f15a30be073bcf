"""Documents through the HTTP API with the real agent in-process."""

import time

import httpx
import pytest
from fastapi import FastAPI

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, drain, make_docx, make_pdf, make_worker, upload
from testsupport.core_users import signup

SUPPORTED = [
    ("guide.pdf", make_pdf("Volcanoes erupt molten basalt."), "application/pdf"),
    (
        "guide.docx",
        make_docx("Volcanoes erupt molten basalt."),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("guide.html", b"<html><body><p>Volcanoes erupt molten basalt.</p></body></html>", "text/html"),
    ("guide.md", b"# Volcanoes\n\nVolcanoes erupt molten basalt.\n", "text/markdown"),
    ("guide.txt", b"Volcanoes erupt molten basalt.", "text/plain"),
    ("guide.csv", b"topic,fact\nvolcano,erupts molten basalt\nsea,is salty\n", "text/csv"),
]


@pytest.mark.parametrize(
    ("filename", "data", "content_type"), SUPPORTED, ids=[s[0] for s in SUPPORTED]
)
async def test_each_supported_type_is_indexed(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
    filename: str,
    data: bytes,
    content_type: str,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)

    accepted = await upload(content_client, user, bot["id"], filename, data)
    await drain(make_worker(content_app, core_settings, worker_id="w1"))
    document = (
        await content_client.get(
            f"/api/v1/bots/{bot['id']}/documents/{accepted.json()['id']}", headers=user.headers
        )
    ).json()
    chunks = (
        await content_client.get(
            f"/api/v1/bots/{bot['id']}/documents/{document['id']}/chunks", headers=user.headers
        )
    ).json()

    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "processing"
    assert (document["status"], document["content_type"]) == ("ready", content_type)
    assert document["size_bytes"] == len(data)
    assert chunks["total"] == document["chunk_count"] >= 1
    assert "basalt" in chunks["items"][0]["content"]
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (
        document["chunk_count"],
        document["chunk_count"],
    )


async def test_a_file_over_the_plan_limit_is_413(content_client: httpx.AsyncClient) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    too_big = b"a" * (10 * 1_048_576 + 1)  # the free plan allows 10 MB

    answer = await upload(content_client, user, bot["id"], "big.txt", too_big)
    listed = await content_client.get(f"/api/v1/bots/{bot['id']}/documents", headers=user.headers)

    assert answer.status_code == 413
    assert answer.json()["error"] == "PayloadTooLarge"
    assert listed.json()["total"] == 0


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        ("notes.txt", b"MZ\x90\x00" + bytes(range(256)) * 4),
        ("archive.docx", b"PK\x05\x06" + b"\x00" * 18),
    ],
    ids=["png", "exe-named-txt", "empty-zip-named-docx"],
)
async def test_unsupported_content_is_415_whatever_the_name(
    content_client: httpx.AsyncClient, filename: str, data: bytes
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)

    answer = await upload(content_client, user, bot["id"], filename, data, "text/plain")

    assert answer.status_code == 415
    assert answer.json()["error"] == "UnsupportedMediaType"


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "PDF"),
        ("empty.txt", b"", "empty"),
        ("scan.pdf", make_pdf(""), "No text"),
    ],
    ids=["corrupt-pdf", "empty-file", "pdf-without-text"],
)
async def test_unreadable_files_become_error_with_a_reason(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    filename: str,
    data: bytes,
    reason: str,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)

    answer = await upload(content_client, user, bot["id"], filename, data)
    await drain(make_worker(content_app, core_settings, worker_id="w1"))
    document = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents/{answer.json()['id']}", headers=user.headers
    )

    assert answer.status_code == 202
    assert answer.json()["status"] == "processing"
    assert document.json()["status"] == "error"
    assert reason in document.json()["error"]
    assert document.json()["chunk_count"] == 0


async def test_text_documents_list_and_chunks_paginate(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user, chunk_size=200, chunk_overlap=20)
    content = "\n\n".join(f"Section {n}: " + "tidal energy notes " * 8 for n in range(12))
    base = f"/api/v1/bots/{bot['id']}/documents"

    created = [
        await content_client.post(
            f"{base}/text",
            json={"name": f"doc {n}", "content": content + "\n" * n},  # not duplicates
            headers=user.headers,
        )
        for n in range(3)
    ]
    await drain(make_worker(content_app, core_settings, worker_id="w1"))
    page = await content_client.get(f"{base}?limit=2&offset=1", headers=user.headers)
    document_id = created[0].json()["id"]
    first = (await content_client.get(f"{base}/{document_id}", headers=user.headers)).json()
    chunks = await content_client.get(
        f"{base}/{document_id}/chunks?limit=5&offset=5", headers=user.headers
    )
    too_many = await content_client.get(f"{base}?limit=101", headers=user.headers)

    assert [answer.status_code for answer in created] == [202, 202, 202]
    assert created[0].json()["content_type"] == "text/plain"
    assert (page.json()["total"], page.json()["limit"], page.json()["offset"]) == (3, 2, 1)
    assert [item["name"] for item in page.json()["items"]] == ["doc 1", "doc 0"]
    assert chunks.json()["total"] == first["chunk_count"] > 5
    assert [item["index"] for item in chunks.json()["items"]] == [5, 6, 7, 8, 9]
    for item in chunks.json()["items"]:
        assert content[item["start"] : item["end"]] == item["content"]
        assert item["vector_id"] == item["id"]
    assert too_many.status_code == 422


async def test_deleting_a_document_removes_its_vectors_and_frees_quota(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    namespace = f"bot-{bot['id']}"
    worker = make_worker(content_app, core_settings, worker_id="w1")
    kept = await upload(content_client, user, bot["id"], "a.txt", b"Kept words about owls.")
    gone = await upload(content_client, user, bot["id"], "b.txt", b"Deleted words about bats.")
    await drain(worker)
    usage_before = (await content_client.get("/api/v1/usage", headers=user.headers)).json()

    deleted = await content_client.delete(
        f"/api/v1/bots/{bot['id']}/documents/{gone.json()['id']}", headers=user.headers
    )
    await drain(worker)
    again = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents/{gone.json()['id']}", headers=user.headers
    )
    usage_after = (await content_client.get("/api/v1/usage", headers=user.headers)).json()

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert await count_vectors(agent.database_url, namespace=namespace) == (1, 1)
    assert kept.json()["id"] != gone.json()["id"]
    assert (usage_before["documents"]["used"], usage_after["documents"]["used"]) == (2, 1)
    assert usage_after["stored_bytes"]["used"] == len(b"Kept words about owls.")


async def test_reindex_rechunks_and_replaces_the_vectors(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user, chunk_size=1000, chunk_overlap=100)
    namespace = f"bot-{bot['id']}"
    worker = make_worker(content_app, core_settings, worker_id="w1")
    text = "\n\n".join(f"Part {n}. " + "glaciers carve valleys slowly " * 6 for n in range(10))
    document = (
        await content_client.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": "glaciers", "content": text},
            headers=user.headers,
        )
    ).json()
    await drain(worker)
    before = await count_vectors(agent.database_url, namespace=namespace)
    document = (
        await content_client.get(
            f"/api/v1/bots/{bot['id']}/documents/{document['id']}", headers=user.headers
        )
    ).json()

    await content_client.patch(
        f"/api/v1/bots/{bot['id']}",
        json={"configuration": {"chunk_size": 200, "chunk_overlap": 0}},
        headers=user.headers,
    )
    reindexed = await content_client.post(
        f"/api/v1/bots/{bot['id']}/documents/{document['id']}/reindex", headers=user.headers
    )
    await drain(worker)
    after = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents/{document['id']}", headers=user.headers
    )

    assert reindexed.status_code == 202
    assert reindexed.json()["status"] == "processing"
    assert after.json()["status"] == "ready"
    assert after.json()["chunk_count"] > document["chunk_count"]
    assert before == (document["chunk_count"],) * 2
    assert (
        await count_vectors(agent.database_url, namespace=namespace)
        == (after.json()["chunk_count"],) * 2
    )


async def test_a_large_document_is_indexed_in_batches(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    paragraphs = (f"Paragraph {n} on ocean currents and trade winds. " * 6 for n in range(1_200))
    data = "\n\n".join(paragraphs).encode()
    worker = make_worker(content_app, core_settings, worker_id="w1")

    started = time.perf_counter()
    accepted = await upload(content_client, user, bot["id"], "currents.md", data)
    accepted_s = time.perf_counter() - started
    await drain(worker)
    indexed_s = time.perf_counter() - started
    chunk_count = (
        await content_client.get(
            f"/api/v1/bots/{bot['id']}/documents/{accepted.json()['id']}", headers=user.headers
        )
    ).json()["chunk_count"]
    upserts = [r for r in agent.transport.sent if r.url.path == "/v1/index/upsert"]

    assert accepted.status_code == 202
    assert len(upserts) == -(-chunk_count // core_settings.ingestion_upsert_batch_size)
    request_ids = {r.headers["X-Request-ID"] for r in upserts}  # one job, one id for the agent
    assert len(request_ids) == 1
    assert request_ids.pop().startswith("job-")
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (
        chunk_count,
        chunk_count,
    )
    print(  # noqa: T201 - the figures go into the report
        f"\n{len(data) / 1e6:.2f} MB, {chunk_count} chunks: 202 after {accepted_s:.2f} s, "
        f"indexed after {indexed_s:.2f} s in {len(upserts)} upserts"
    )

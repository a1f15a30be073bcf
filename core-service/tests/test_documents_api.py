"""Documents through the HTTP API with the real agent in-process."""

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

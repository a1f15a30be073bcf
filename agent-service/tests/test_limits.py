"""Deployment limits answer 422 with the error body; oversized bodies 413."""

from collections.abc import AsyncIterator

import httpx
import pytest

from agent_service.config import Settings
from agent_service.main import create_app
from testsupport.asgi import started_client


@pytest.fixture
async def tight_client(agent_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limits = {
        "max_texts_per_request": 2,
        "max_chunks_per_upsert": 1,
        "max_query_chars": 20,
        "max_message_chars": 20,
        "max_request_body_bytes": 4096,
    }
    app = create_app(agent_settings.model_copy(update=limits))
    async with started_client(app, base_url="http://agent.test") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", {"texts": ["a", "b", "c"]}),
        (
            "/v1/index/upsert",
            {
                "namespace": "bot-1",
                "chunks": [{"id": str(n), "document_id": "d", "text": "t"} for n in range(2)],
            },
        ),
        ("/v1/retrieve", {"namespace": "bot-1", "query": "q" * 21}),
        ("/v1/chat", {"namespace": "bot-1", "message": "m" * 21}),
        ("/v1/chat/stream", {"namespace": "bot-1", "message": "m" * 21}),
    ],
    ids=["texts", "chunks", "query", "chat", "stream"],
)
async def test_requests_over_a_limit_are_422(
    tight_client: httpx.AsyncClient, auth: dict[str, str], path: str, body: dict[str, object]
) -> None:
    response = await tight_client.post(path, json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "LimitExceeded"


async def test_bodies_over_the_size_limit_are_413(
    tight_client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await tight_client.post("/v1/embeddings", json={"texts": ["x" * 5000]}, headers=auth)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"

"""Every answer says where its time went: ``timings`` on ``/v1/chat`` and the stream's ``done``."""

import json
import uuid

import httpx
import pytest

from agent_service.config import DEVELOPMENT_API_KEY, ChatProviderKind, Settings
from agent_service.main import create_app
from chatsphere_contracts import v1
from testsupport.stub_openai import running_slow_chat_server

PASSAGE = {"id": "tea", "document_id": "menu", "text": "Green tea is served until six."}
TOKENS = ["Until ", "six ", "[1]."]
TOKEN_INTERVAL_S = 0.1


def _done_event(text: str) -> dict[str, object]:
    blocks = [block.split("\n") for block in text.strip().split("\n\n")]
    done = next(lines for lines in blocks if lines[0] == "event: done")
    data: dict[str, object] = json.loads(done[1].removeprefix("data: "))
    return data


async def test_the_extractive_answer_carries_its_timings(
    agent_client: httpx.AsyncClient, auth: dict[str, str], namespace: str
) -> None:
    body = {"namespace": namespace, "chunks": [PASSAGE]}
    assert (await agent_client.post("/v1/index/upsert", json=body, headers=auth)).is_success
    chat = {"namespace": namespace, "message": "Until when is green tea served?"}
    answer = v1.ChatResponse.model_validate(
        (await agent_client.post("/v1/chat", json=chat, headers=auth)).json()
    )
    timings = answer.timings
    assert timings is not None
    assert 0 < timings.retrieval_ms <= timings.total_ms
    assert timings.first_token_ms <= timings.total_ms
    assert timings.generation_ms + timings.retrieval_ms == pytest.approx(timings.total_ms, abs=0.01)


async def test_a_streamed_model_answer_times_the_model_where_it_runs(
    agent_settings: Settings,
) -> None:
    """The model server sends a token every 100 ms: generation and the total show it, the
    first token comes before the last ones, and retrieval is counted apart."""
    with running_slow_chat_server(tokens=TOKENS, token_interval_s=TOKEN_INTERVAL_S) as model:
        settings = agent_settings.model_copy(
            update={"chat_provider": ChatProviderKind.OPENAI, "openai_base_url": model.base_url}
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            headers = {"Authorization": f"Bearer {DEVELOPMENT_API_KEY}"}
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://agent", headers=headers
            ) as client:
                namespace = f"bot-{uuid.uuid4()}"
                upsert = {"namespace": namespace, "chunks": [PASSAGE]}
                assert (await client.post("/v1/index/upsert", json=upsert)).is_success
                chat = {"namespace": namespace, "message": "Until when is green tea served?"}
                streamed = await client.post("/v1/chat/stream", json=chat)
    timings = v1.AnswerTimings.model_validate(_done_event(streamed.text)["timings"])
    paced_ms = TOKEN_INTERVAL_S * 1000 * len(TOKENS)
    assert timings.generation_ms >= paced_ms * 0.9
    assert timings.total_ms >= timings.generation_ms + timings.retrieval_ms - 0.01
    assert timings.retrieval_ms > 0
    # The first token arrives before the model's pauses between tokens have passed.
    assert timings.first_token_ms <= timings.total_ms - 2 * TOKEN_INTERVAL_S * 1000 * 0.9

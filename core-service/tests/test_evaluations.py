"""Evaluations through core's API: a question set run in the background by the worker against
the bot's configuration at the time, with hit@1, hit@5, MRR and answered rate."""

import asyncio
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsphere_contracts.v1 import ChatResponse, Citation, TokenUsage
from core_service.config import Settings
from core_service.evaluations import service as evaluations_service
from core_service.evaluations.schemas import EvaluationQuestion
from core_service.jobs import service as jobs_service
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_schema import model_differences
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import running_uvicorn, running_worker

BACKUPS = (
    b"Nightly backups start at 02:00 and copy every volume to the archive bucket.\n\n"
    b"The backup is skipped when the previous one is still running or when maintenance mode "
    b"is on."
)
VALVES = (
    b"Fault ZK-4471 means the intake valve is stuck; reset it from the service panel.\n\n"
    b"While fault ZK-4471 is raised, the nightly backups are held back until the valve is reset."
)


async def _bot_with_documents(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, user: SignedUpUser
) -> tuple[str, str, str]:
    bot = await create_bot(client, user)
    backups = (await upload(client, user, bot["id"], "backups.txt", BACKUPS)).json()
    valves = (await upload(client, user, bot["id"], "valves.txt", VALVES)).json()
    await drain(make_worker(app, settings, worker_id="w1"))
    return str(bot["id"]), str(backups["id"]), str(valves["id"])


def _questions(backups_id: str, valves_id: str) -> list[dict[str, Any]]:
    return [
        {
            "question": "When do the nightly backups start?",
            "expected_document_ids": [backups_id],
            "expected_answer": "02:00",
        },
        {
            "question": "What does fault ZK-4471 mean?",
            "expected_document_ids": [valves_id],
            "expected_answer": "the INTAKE valve is stuck",
        },
        {"question": "When is the backup skipped?", "expected_document_ids": [backups_id]},
        {"question": "Which fault holds back the backups?", "expected_document_ids": [valves_id]},
        {"question": "Where is the staff canteen?"},
    ]


async def _evaluate(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, questions: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/bots/{bot_id}/evaluations",
        json={"name": "handbook", "questions": questions},
        headers=user.headers,
    )


async def _evaluated(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, evaluation_id: str
) -> dict[str, Any]:
    found = await client.get(
        f"/api/v1/bots/{bot_id}/evaluations/{evaluation_id}", headers=user.headers
    )
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def test_the_owners_loop_evaluate_change_the_configuration_evaluate_again(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot_id, backups_id, valves_id = await _bot_with_documents(
        content_client, content_app, core_settings, user
    )
    questions = _questions(backups_id, valves_id)

    queued = (await _evaluate(content_client, user, bot_id, questions)).json()
    assert (queued["status"], queued["summary"], queued["results"]) == ("pending", None, [])
    assert await drain(make_worker(content_app, core_settings, worker_id="w2")) == 1
    before = await _evaluated(content_client, user, bot_id, queued["id"])

    assert (before["status"], before["error"]) == ("done", None)
    assert before["finished_at"] is not None
    assert before["summary"] == {
        "questions": 5,
        "hit_at_1": 1.0,
        "hit_at_5": 1.0,
        "mrr": 1.0,
        "answered_rate": 0.8,
    }
    first, second, *_, off_topic = before["results"]
    assert (first["rank"], first["answer_contains_expected"]) == (1, True)
    assert second["cited_document_ids"][0] == valves_id
    assert second["answer_contains_expected"] is True
    assert off_topic == {
        "question": "Where is the staff canteen?",
        "answered": False,
        "cited_document_ids": [],
        "rank": None,
        "hit_at_1": None,
        "hit_at_5": None,
        "answer_contains_expected": None,
    }
    # With five passages per answer, some answers draw on both documents.
    assert max(len(result["cited_document_ids"]) for result in before["results"]) == 2

    changed = await content_client.patch(
        f"/api/v1/bots/{bot_id}", json={"configuration": {"top_k": 1}}, headers=user.headers
    )
    assert changed.status_code == 200, changed.text
    again = (await _evaluate(content_client, user, bot_id, questions)).json()
    await drain(make_worker(content_app, core_settings, worker_id="w3"))
    after = await _evaluated(content_client, user, bot_id, again["id"])

    assert after["status"] == "done"
    assert max(len(result["cited_document_ids"]) for result in after["results"]) == 1
    listed = await content_client.get(
        f"/api/v1/bots/{bot_id}/evaluations?limit=1", headers=user.headers
    )
    assert listed.status_code == 200, listed.text
    assert (listed.json()["total"], listed.json()["items"][0]["id"]) == (2, again["id"])


def _process_env(core_database_url: str, agent_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        "CORE_AGENT_URL": agent_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_WORKER_POLL_INTERVAL_S": "0.1",
    }


async def _wait_until_finished(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, evaluation_id: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        evaluation = await _evaluated(client, user, bot_id, evaluation_id)
        if evaluation["status"] in ("done", "error") or time.monotonic() > deadline:
            return evaluation
        await asyncio.sleep(0.2)


async def _wait_until_ready(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, document_id: str
) -> str:
    url = f"/api/v1/bots/{bot_id}/documents/{document_id}"
    deadline = time.monotonic() + 60
    while True:
        status = str((await client.get(url, headers=user.headers)).json()["status"])
        if status != "processing" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def test_an_evaluation_runs_through_real_core_agent_and_worker_processes(
    core_database_url: str, upstream_agent_database_url: str
) -> None:
    agent_env = {"AGENT_ENVIRONMENT": "test", "AGENT_DATABASE_URL": upstream_agent_database_url}
    with running_uvicorn("agent_service.main:create_app", agent_env) as agent:
        env = _process_env(core_database_url, agent.base_url)
        with (
            running_uvicorn("core_service.main:create_app", env) as core,
            running_worker(env),
        ):
            async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
                user = await signup(client)
                bot = await create_bot(client, user)
                document = (await upload(client, user, bot["id"], "backups.txt", BACKUPS)).json()
                # Evaluated against what is indexed when the worker runs it: wait for the file.
                assert await _wait_until_ready(client, user, bot["id"], document["id"]) == "ready"
                question = {"question": "When do backups start?", "expected_answer": "02:00"}
                expected = {**question, "expected_document_ids": [document["id"]]}
                queued = await _evaluate(client, user, bot["id"], [expected])
                evaluation = await _wait_until_finished(
                    client, user, bot["id"], queued.json()["id"]
                )

    assert queued.status_code == 202, queued.text
    assert evaluation["status"] == "done", evaluation
    assert evaluation["summary"] == {
        "questions": 1,
        "hit_at_1": 1.0,
        "hit_at_5": 1.0,
        "mrr": 1.0,
        "answered_rate": 1.0,
    }
    assert evaluation["results"][0]["answer_contains_expected"] is True


async def test_an_evaluation_stores_no_conversation_and_spends_no_messages(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot_id, backups_id, valves_id = await _bot_with_documents(
        content_client, content_app, core_settings, user
    )

    queued = await _evaluate(content_client, user, bot_id, _questions(backups_id, valves_id))
    await drain(make_worker(content_app, core_settings, worker_id="w2"))

    assert (await _evaluated(content_client, user, bot_id, queued.json()["id"]))["status"] == "done"
    usage = (await content_client.get("/api/v1/usage", headers=user.headers)).json()
    assert usage["messages"]["used"] == 0
    conversations = await content_client.get(
        f"/api/v1/bots/{bot_id}/conversations", headers=user.headers
    )
    assert conversations.json()["total"] == 0


async def test_an_evaluation_the_agent_could_not_answer_ends_in_error_and_can_be_retried(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    agent: AgentHarness,
) -> None:
    user = await signup(content_client)
    bot_id, backups_id, valves_id = await _bot_with_documents(
        content_client, content_app, core_settings, user
    )
    queued = await _evaluate(content_client, user, bot_id, _questions(backups_id, valves_id))
    evaluation_id = queued.json()["id"]

    agent.transport.available = False
    await drain(make_worker(content_app, core_settings, worker_id="w2", worker_max_attempts=1))
    failed = await _evaluated(content_client, user, bot_id, evaluation_id)
    agent.transport.available = True
    async with content_app.state.sessionmaker() as session, session.begin():
        job_id = await session.scalar(
            text("SELECT id FROM jobs WHERE payload->>'evaluation_id' = :id"),
            {"id": evaluation_id},
        )
        assert await jobs_service.requeue_failed_job(session, job_id=job_id) is not None
    await drain(make_worker(content_app, core_settings, worker_id="w3"))
    retried = await _evaluated(content_client, user, bot_id, evaluation_id)

    assert (failed["status"], failed["summary"]) == ("error", None)
    assert "agent service was unavailable" in failed["error"]
    assert (retried["status"], retried["error"]) == ("done", None)
    assert retried["summary"]["questions"] == 5


async def test_another_users_bot_or_evaluation_is_not_found(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    owner = await signup(content_client)
    stranger = await signup(content_client)
    bot_id, backups_id, valves_id = await _bot_with_documents(
        content_client, content_app, core_settings, owner
    )
    questions = _questions(backups_id, valves_id)
    evaluation_id = (await _evaluate(content_client, owner, bot_id, questions)).json()["id"]
    strangers_bot = (await create_bot(content_client, stranger))["id"]
    base = f"/api/v1/bots/{bot_id}/evaluations"

    answers = [
        await _evaluate(content_client, stranger, bot_id, questions),
        await content_client.get(base, headers=stranger.headers),
        await content_client.get(f"{base}/{evaluation_id}", headers=stranger.headers),
        # The owner's evaluation looked up under the stranger's own bot.
        await content_client.get(
            f"/api/v1/bots/{strangers_bot}/evaluations/{evaluation_id}", headers=stranger.headers
        ),
        await content_client.get(f"{base}/{uuid.uuid4()}", headers=owner.headers),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert answers[-1].json() == {"error": "NotFound", "detail": "Evaluation not found."}


async def test_a_question_set_must_have_one_to_two_hundred_questions(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot_id, backups_id, _ = await _bot_with_documents(
        content_client, content_app, core_settings, user
    )
    one = {"question": "When do backups start?", "expected_document_ids": [backups_id]}

    empty = await _evaluate(content_client, user, bot_id, [])
    too_many = await _evaluate(content_client, user, bot_id, [one] * 201)
    bad_id = await _evaluate(
        content_client, user, bot_id, [{**one, "expected_document_ids": ["nope"]}]
    )
    most = await _evaluate(content_client, user, bot_id, [one] * 200)

    assert [empty.status_code, too_many.status_code, bad_id.status_code] == [422] * 3
    assert {"error", "detail"} <= set(empty.json())
    assert most.status_code == 202, most.text
    await drain(make_worker(content_app, core_settings, worker_id="w2"))
    largest = await _evaluated(content_client, user, bot_id, most.json()["id"])
    assert (largest["status"], len(largest["results"])) == ("done", 200)
    assert largest["summary"]["hit_at_1"] == 1.0


def _answer(*document_ids: str, text: str = "Backups start at 02:00.") -> ChatResponse:
    citations = [
        Citation(chunk_id=f"c{i}", document_id=document_id, score=0.5, snippet="…")
        for i, document_id in enumerate(document_ids)
    ]
    return ChatResponse(answer=text, citations=citations, usage=TokenUsage(), model="extractive")


def test_the_rank_is_the_first_expected_document_among_those_cited() -> None:
    expected, other = uuid.uuid4(), uuid.uuid4()
    question = EvaluationQuestion(
        question="When?", expected_document_ids=[expected], expected_answer="AT 02:00"
    )
    cited = [str(other), str(other), *(str(uuid.uuid4()) for _ in range(4)), str(expected)]

    second = evaluations_service.score(question, _answer(str(other), str(other), str(expected)))
    seventh = evaluations_service.score(question, _answer(*cited))
    summary = evaluations_service.summarize([second, seventh])

    assert (second.rank, second.hit_at_1, second.hit_at_5) == (2, False, True)
    assert second.cited_document_ids == [other, expected]
    assert (seventh.rank, seventh.hit_at_5, seventh.answer_contains_expected) == (6, False, True)
    assert (summary.hit_at_1, summary.hit_at_5, summary.mrr) == (
        0.0,
        0.5,
        round((1 / 2 + 1 / 6) / 2, 4),
    )


async def test_the_evaluations_table_matches_its_model(core_db: AsyncEngine) -> None:
    assert await model_differences(core_db, "evaluations") == []

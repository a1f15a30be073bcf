"""Outgoing webhooks, what is sent: each event is written in the transaction of its cause and
sent for documents, answers and ratings, and web sources; also through real core and worker
processes."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.documents import service as documents_service
from core_service.webhooks import events as webhook_events
from core_service.webhooks.models import WebhookEvent
from testsupport.core_content import create_bot, drain, make_pdf, make_worker, upload
from testsupport.core_public import new_key, start_session
from testsupport.core_users import SignedUpUser, signup
from testsupport.core_webhooks import (
    FAST_DELIVERY,
    register_webhook,
    webhook_deliveries,
    work_until,
)
from testsupport.service_process import free_port, running_uvicorn, running_worker
from testsupport.webhook_receiver import Receiver, running_receiver, verify_signature
from testsupport.website import Page, html_page, website


class Rollback(Exception):
    """Raised to roll a transaction back."""


async def _outbox(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        deliveries = await connection.scalar(text("SELECT count(*) FROM webhook_deliveries"))
        jobs = await connection.scalar(
            text("SELECT count(*) FROM jobs WHERE kind = 'deliver_webhook'")
        )
    return int(deliveries or 0), int(jobs or 0)


async def _mark_ready(
    app: FastAPI, bot_id: uuid.UUID, document_id: uuid.UUID, *, commit: bool
) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await documents_service.mark_ready(session, document_id=document_id)
        await webhook_events.emit_document_event(
            session, bot_id=bot_id, document_id=document_id, event=WebhookEvent.DOCUMENT_READY
        )
        if not commit:
            raise Rollback


async def test_an_event_is_written_with_its_change_and_rolled_back_with_it(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_db: AsyncEngine
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    await register_webhook(hooks_client, user, "http://127.0.0.1:9/hooks", ["document.ready"])
    document = (await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")).json()
    document_id = uuid.UUID(document["id"])

    with pytest.raises(Rollback):
        await _mark_ready(hooks_app, uuid.UUID(bot["id"]), document_id, commit=False)
    after_rollback = await _outbox(core_db)
    await _mark_ready(hooks_app, uuid.UUID(bot["id"]), document_id, commit=True)
    after_commit = await _outbox(core_db)

    assert after_rollback == (0, 0)
    assert after_commit == (1, 1)


async def _chat(client: httpx.AsyncClient, user: SignedUpUser, bot_id: str) -> dict[str, Any]:
    created = await client.post(
        f"/api/v1/bots/{bot_id}/conversations", json={}, headers=user.headers
    )
    answer = await client.post(
        f"/api/v1/conversations/{created.json()['id']}/messages",
        json={"content": "When do backups start?"},
        headers=user.headers,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_an_answer_and_its_rating_are_sent_to_a_bots_endpoint(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    other_bot = await create_bot(hooks_client, user)
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **FAST_DELIVERY)
    backups = b"Nightly backups start at 02:00 and copy every volume."
    await upload(hooks_client, user, bot["id"], "backups.txt", backups)
    await drain(worker)
    with running_receiver(Receiver()) as receiver:
        events = ["conversation.message", "feedback.created"]
        await register_webhook(hooks_client, user, receiver.url, events, bot_id=bot["id"])
        turn = await _chat(hooks_client, user, bot["id"])
        await _chat(hooks_client, user, other_bot["id"])  # another bot: not sent
        answer = turn["assistant_message"]
        rated = await hooks_client.put(
            f"/api/v1/conversations/{answer['conversation_id']}/messages/{answer['id']}/feedback",
            json={"rating": "up", "comment": "Right."},
            headers=user.headers,
        )
        await work_until(worker, lambda: len(receiver.received) >= 2)
        await drain(worker)
        key = await new_key(hooks_client, user, bot["id"])
        visitor = await start_session(hooks_client, key["key"], end_user_id="customer-7")
        made = await hooks_client.post(
            "/api/v1/public/conversations", json={}, headers=visitor.headers
        )
        asked = await hooks_client.post(
            f"/api/v1/public/conversations/{made.json()['id']}/messages",
            json={"content": "When do backups start?"},
            headers=visitor.headers,
        )
        assert asked.status_code == 200, asked.text
        await work_until(worker, lambda: len(receiver.received) >= 3)
    message, end_users, feedback = sorted(
        (r.event for r in receiver.received),
        key=lambda e: (e["type"], e["data"].get("end_user_id") or ""),
    )

    assert rated.status_code == 200, rated.text
    assert len(receiver.received) == 3
    assert message["type"] == "conversation.message"
    assert message["data"]["end_user_id"] is None
    assert end_users["type"] == "conversation.message"
    assert end_users["data"]["end_user_id"] == "customer-7"
    assert message["data"]["assistant_message"]["id"] == answer["id"]
    assert message["data"]["user_message"]["content"] == "When do backups start?"
    assert message["data"]["bot_id"] == bot["id"]
    assert feedback["type"] == "feedback.created"
    assert feedback["data"]["feedback"] == {"rating": "up", "comment": "Right."}
    assert feedback["data"]["message_id"] == answer["id"]


async def test_a_web_sources_outcome_is_sent_as_synced_or_failed(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **FAST_DELIVERY)
    with website() as site, running_receiver(Receiver()) as receiver:
        site.pages["/guide"] = html_page("Guide", "Llamas eat hay and grass.")
        site.pages["/robots.txt"] = Page(body=b"", content_type="text/plain")
        await register_webhook(hooks_client, user, receiver.url, ["source.synced", "source.failed"])
        created = []
        for path in ("/guide", "/missing"):
            answer = await hooks_client.post(
                f"/api/v1/bots/{bot['id']}/sources",
                json={"kind": "url", "url": site.url(path)},
                headers=user.headers,
            )
            assert answer.status_code == 202, answer.text
            created.append(answer.json()["id"])
        await work_until(worker, lambda: len(receiver.received) >= 2)
        await drain(worker)
    by_type = {r.event["type"]: r.event["data"]["source"] for r in receiver.received}

    assert len(receiver.received) == 2
    assert by_type["source.synced"]["id"] == created[0]
    assert by_type["source.synced"]["status"] == "ready"
    assert by_type["source.failed"]["id"] == created[1]
    assert by_type["source.failed"]["status"] == "error"
    assert "404" in by_type["source.failed"]["error"]


def _process_env(core_database_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        # No agent: a file without text fails before any agent call.
        "CORE_AGENT_URL": f"http://127.0.0.1:{free_port()}",
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_WORKER_POLL_INTERVAL_S": "0.1",
        "CORE_WEBHOOK_RETRY_INITIAL_S": "0.2",
        "CORE_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
    }


async def test_a_failed_document_is_delivered_by_real_core_and_worker_processes(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    env = _process_env(core_database_url)
    with (
        running_receiver(Receiver(script=[500])) as receiver,
        running_uvicorn("core_service.main:create_app", env) as core,
        running_worker(env),
    ):
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
            user = await signup(client)
            bot = await create_bot(client, user)
            webhook = await register_webhook(client, user, receiver.url, ["document.failed"])
            blank = (await upload(client, user, bot["id"], "blank.pdf", make_pdf(""))).json()
            deadline = time.monotonic() + 60
            while len(receiver.received) < 2:
                assert time.monotonic() < deadline, receiver.received
                await asyncio.sleep(0.1)
            [delivery] = await webhook_deliveries(client, user, webhook["id"])

    first, second = receiver.received
    assert (first.answered, second.answered) == (500, 200)
    assert first.event["id"] == second.event["id"] == delivery["event_id"]
    assert second.event["type"] == "document.failed"
    assert second.event["data"]["document"]["id"] == blank["id"]
    assert "No text" in second.event["data"]["document"]["error"]
    assert verify_signature(webhook["secret"], second.headers["ChatSphere-Signature"], second.body)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)

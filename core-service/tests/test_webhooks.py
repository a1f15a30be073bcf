"""Outgoing webhooks: signed events written with their cause, retried, logged, disabled."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.documents import service as documents_service
from core_service.main import create_app
from core_service.models import Base
from core_service.webhooks import events as webhook_events
from core_service.webhooks.delivery import retry_delay_s
from core_service.webhooks.models import WebhookEvent
from core_service.worker.runner import Worker
from testsupport.agent_inprocess import AgentHarness
from testsupport.core_content import create_bot, drain, make_pdf, make_worker, upload
from testsupport.core_public import new_key, start_session
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import free_port, running_uvicorn, running_worker
from testsupport.webhook_receiver import Receiver, running_receiver, verify_signature
from testsupport.website import Page, html_page, website

LOOPBACK = {"fetch_allowed_networks": "127.0.0.0/8"}  # the receivers listen on loopback
FAST = {
    **LOOPBACK,
    "webhook_retry_initial_s": 0.05,
    "webhook_retry_max_s": 0.2,
    "webhook_timeout_s": 2.0,
}


@pytest.fixture
async def hooks_app(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness
) -> AsyncIterator[FastAPI]:
    """A started core app that may reach loopback endpoints, with the in-process agent."""
    app = create_app(core_settings.model_copy(update=LOOPBACK), agent_transport=agent.transport)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def hooks_client(hooks_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``hooks_app``."""
    transport = httpx.ASGITransport(app=hooks_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://core.test") as client:
        yield client


async def _register(
    client: httpx.AsyncClient,
    user: SignedUpUser,
    url: str,
    events: list[str],
    bot_id: str | None = None,
) -> dict[str, Any]:
    answer = await client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": events, "bot_id": bot_id},
        headers=user.headers,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _deliveries(
    client: httpx.AsyncClient, user: SignedUpUser, webhook_id: str
) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=user.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _work_until(worker: Worker, done: Callable[[], bool], timeout_s: float = 20) -> None:
    """Drain the outbox (retries come back after their backoff) until ``done()``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the deliveries never finished"
        await drain(worker)
        await asyncio.sleep(0.02)


async def test_a_receiver_that_fails_first_gets_the_same_signed_event_until_it_accepts(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **FAST)
    with running_receiver(Receiver(script=[500, 503])) as receiver:
        webhook = await _register(hooks_client, user, receiver.url, ["document.ready"])
        document = (await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")).json()
        await _work_until(worker, lambda: any(r.answered == 200 for r in receiver.received))
    [delivery] = await _deliveries(hooks_client, user, webhook["id"])

    assert [r.answered for r in receiver.received] == [500, 503, 200]
    events = [r.event for r in receiver.received]
    assert {event["id"] for event in events} == {delivery["event_id"]}
    assert all(r.body == receiver.received[0].body for r in receiver.received)
    assert all(
        verify_signature(webhook["secret"], r.headers["ChatSphere-Signature"], r.body)
        for r in receiver.received
    )
    assert not verify_signature(
        "whsec_wrong",
        receiver.received[0].headers["ChatSphere-Signature"],
        receiver.received[0].body,
    )
    assert events[0]["type"] == "document.ready"
    assert events[0]["data"]["document"]["id"] == document["id"]
    assert events[0]["data"]["document"]["status"] == "ready"
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["response_status"] == 200
    assert delivery["delivered_at"] is not None
    assert delivery["event"] == "document.ready"


def test_the_first_retry_comes_within_a_minute_by_default() -> None:
    settings = Settings()
    delays = [retry_delay_s(1, settings) for _ in range(200)]
    later = [retry_delay_s(8, settings) for _ in range(200)]

    assert max(delays) < 60
    assert len(set(delays)) > 100  # jittered
    assert min(later) > max(delays)  # and growing


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
    await _register(hooks_client, user, "http://127.0.0.1:9/hooks", ["document.ready"])
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
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **FAST)
    backups = b"Nightly backups start at 02:00 and copy every volume."
    await upload(hooks_client, user, bot["id"], "backups.txt", backups)
    await drain(worker)
    with running_receiver(Receiver()) as receiver:
        events = ["conversation.message", "feedback.created"]
        await _register(hooks_client, user, receiver.url, events, bot_id=bot["id"])
        turn = await _chat(hooks_client, user, bot["id"])
        await _chat(hooks_client, user, other_bot["id"])  # another bot: not sent
        answer = turn["assistant_message"]
        rated = await hooks_client.put(
            f"/api/v1/conversations/{answer['conversation_id']}/messages/{answer['id']}/feedback",
            json={"rating": "up", "comment": "Right."},
            headers=user.headers,
        )
        await _work_until(worker, lambda: len(receiver.received) >= 2)
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
        await _work_until(worker, lambda: len(receiver.received) >= 3)
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


async def _work_until_disabled(
    client: httpx.AsyncClient, user: SignedUpUser, worker: Worker, url: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        await drain(worker)
        webhook: dict[str, Any] = (await client.get(url, headers=user.headers)).json()
        if not webhook["enabled"]:
            return webhook
        assert time.monotonic() < deadline, "the endpoint was never disabled"
        await asyncio.sleep(0.05)


async def test_an_endpoint_failing_for_the_whole_window_is_disabled_with_a_reason(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    worker = make_worker(
        hooks_app, core_settings, worker_id="w1", **FAST, webhook_retry_window_s=0.6
    )
    with running_receiver(Receiver(then=500)) as receiver:
        webhook = await _register(hooks_client, user, receiver.url, ["document.ready"])
        url = f"/api/v1/webhooks/{webhook['id']}"
        await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")
        disabled = await _work_until_disabled(hooks_client, user, worker, url)
        failed_tries = len(receiver.received)
        await upload(hooks_client, user, bot["id"], "b.txt", b"Borealis.")  # while disabled
        await drain(worker)
        log_while_disabled = await _deliveries(hooks_client, user, webhook["id"])

        receiver.then = 200
        enabled = await hooks_client.patch(url, json={"enabled": True}, headers=user.headers)
        [delivery] = log_while_disabled
        redelivery = await hooks_client.post(
            f"{url}/deliveries/{delivery['id']}/redeliver", headers=user.headers
        )
        await _work_until(worker, lambda: receiver.received[-1].answered == 200)
    [redelivered] = await _deliveries(hooks_client, user, webhook["id"])

    assert disabled["enabled"] is False
    assert "HTTP 500" in disabled["disabled_reason"]
    assert disabled["failing_since"] is not None
    assert failed_tries >= 1
    assert delivery["status"] == "failed"
    assert "disabled" in delivery["last_error"]
    assert len(receiver.received) == failed_tries + 1  # nothing was sent while disabled
    assert enabled.json()["enabled"] is True
    assert redelivery.status_code == 202, redelivery.text
    assert redelivered["status"] == "delivered"
    assert receiver.received[-1].event["id"] == delivery["event_id"]


async def test_a_hanging_endpoint_costs_one_timeout_and_slows_no_other_delivery(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    settings = {**LOOPBACK, "webhook_timeout_s": 0.5, "webhook_retry_initial_s": 30}
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **settings)
    with (
        running_receiver(Receiver(hang=True)) as hanging,
        running_receiver(Receiver()) as healthy,
    ):
        await _register(hooks_client, user, hanging.url, ["document.ready"])
        await _register(hooks_client, user, healthy.url, ["document.ready"])
        for n in range(6):
            await upload(hooks_client, user, bot["id"], f"{n}.txt", f"Note {n}.".encode())
        started = time.monotonic()
        await drain(worker)
        elapsed_s = time.monotonic() - started
    documents = await hooks_client.get(f"/api/v1/bots/{bot['id']}/documents", headers=user.headers)
    print(f"\n6 documents and 12 deliveries (6 to a hanging endpoint) in {elapsed_s:.2f} s")  # noqa: T201

    assert len(healthy.received) == 6
    assert len(hanging.received) == 1  # its other deliveries wait for the pause to end
    assert {d["status"] for d in documents.json()["items"]} == {"ready"}


async def test_someone_elses_webhooks_and_deliveries_are_404(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    owner = await signup(hooks_client)
    other = await signup(hooks_client)
    bot = await create_bot(hooks_client, owner)
    webhook = await _register(hooks_client, owner, "https://example.com/h", ["document.ready"])
    theirs = await _register(hooks_client, other, "https://example.com/o", ["document.ready"])
    await upload(hooks_client, owner, bot["id"], "a.txt", b"Aurora.")
    await drain(make_worker(hooks_app, core_settings, worker_id="w1", webhook_timeout_s=0.2))
    [delivery] = await _deliveries(hooks_client, owner, webhook["id"])
    base = f"/api/v1/webhooks/{webhook['id']}"
    foreign = f"/api/v1/webhooks/{theirs['id']}/deliveries/{delivery['id']}/redeliver"

    answers = [
        await hooks_client.get(base, headers=other.headers),
        await hooks_client.patch(base, json={"enabled": False}, headers=other.headers),
        await hooks_client.get(f"{base}/deliveries", headers=other.headers),
        await hooks_client.post(
            f"{base}/deliveries/{delivery['id']}/redeliver", headers=other.headers
        ),
        await hooks_client.post(foreign, headers=other.headers),
        await hooks_client.delete(base, headers=other.headers),
        await hooks_client.post(
            "/api/v1/webhooks",
            json={
                "url": "https://example.com/x",
                "events": ["document.ready"],
                "bot_id": bot["id"],
            },
            headers=other.headers,
        ),
    ]
    listed = (await hooks_client.get("/api/v1/webhooks", headers=other.headers)).json()

    assert [(a.status_code, a.json()["error"]) for a in answers] == [(404, "NotFound")] * 7
    assert [w["id"] for w in listed["items"]] == [theirs["id"]]
    assert "secret" not in listed["items"][0]
    assert (await hooks_client.get(base, headers=owner.headers)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://example.com/h", "events": ["document.deleted"]},
        {"url": "https://example.com/h", "events": []},
        {"url": "ftp://example.com/h", "events": ["document.ready"]},
        {"url": "not a url", "events": ["document.ready"]},
        {"url": "https://example.com/h", "events": ["document.ready"], "secret": "mine"},
        {"url": "http://127.0.0.1:8000/h", "events": ["document.ready"]},
        {"url": "http://169.254.169.254/latest/meta-data", "events": ["document.ready"]},
        {"url": "http://10.0.0.7/h", "events": ["document.ready"]},
        {"url": "https://8.8.8.8:8443/h", "events": ["document.ready"]},
    ],
)
async def test_a_bad_webhook_is_refused_with_422(
    core_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    user = await signup(core_client)

    answer = await core_client.post("/api/v1/webhooks", json=body, headers=user.headers)

    assert answer.status_code == 422, answer.text
    assert set(answer.json()) >= {"error", "detail"}


async def test_the_number_of_endpoints_is_bounded(
    core_client: httpx.AsyncClient, core_app: FastAPI
) -> None:
    user = await signup(core_client)
    limit = core_app.state.settings.webhook_max_per_user
    for n in range(limit):
        await _register(core_client, user, f"https://example.com/{n}", ["document.ready"])

    answer = await core_client.post(
        "/api/v1/webhooks",
        json={"url": "https://example.com/more", "events": ["document.ready"]},
        headers=user.headers,
    )

    assert (answer.status_code, answer.json()["error"]) == (422, "TooManyWebhooks")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if "webhook" in str(d)]


async def test_the_webhook_tables_match_their_models(core_db: AsyncEngine) -> None:
    async with core_db.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


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
            webhook = await _register(client, user, receiver.url, ["document.failed"])
            blank = (await upload(client, user, bot["id"], "blank.pdf", make_pdf(""))).json()
            deadline = time.monotonic() + 60
            while len(receiver.received) < 2:
                assert time.monotonic() < deadline, receiver.received
                await asyncio.sleep(0.1)
            [delivery] = await _deliveries(client, user, webhook["id"])

    first, second = receiver.received
    assert (first.answered, second.answered) == (500, 200)
    assert first.event["id"] == second.event["id"] == delivery["event_id"]
    assert second.event["type"] == "document.failed"
    assert second.event["data"]["document"]["id"] == blank["id"]
    assert "No text" in second.event["data"]["document"]["error"]
    assert verify_signature(webhook["secret"], second.headers["ChatSphere-Signature"], second.body)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)


async def test_a_refused_url_is_answered_422_and_never_contacted(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    with running_receiver(Receiver()) as receiver:
        answer = await core_client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["document.ready"]},
            headers=user.headers,
        )

    assert (answer.status_code, answer.json()["error"]) == (422, "UrlNotAllowed")
    assert receiver.received == []


async def test_a_worker_that_may_not_reach_the_address_sends_nothing(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    strict = make_worker(hooks_app, core_settings, worker_id="w1", webhook_retry_window_s=0.01)
    with running_receiver(Receiver()) as receiver:
        webhook = await _register(hooks_client, user, receiver.url, ["document.ready"])
        await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")
        await drain(strict)
    [delivery] = await _deliveries(hooks_client, user, webhook["id"])

    assert receiver.received == []
    assert delivery["status"] == "failed"
    assert delivery["last_error"].startswith("Not sent: This URL points to a private")


async def test_a_web_sources_outcome_is_sent_as_synced_or_failed(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **FAST)
    with website() as site, running_receiver(Receiver()) as receiver:
        site.pages["/guide"] = html_page("Guide", "Llamas eat hay and grass.")
        site.pages["/robots.txt"] = Page(body=b"", content_type="text/plain")
        await _register(hooks_client, user, receiver.url, ["source.synced", "source.failed"])
        created = []
        for path in ("/guide", "/missing"):
            answer = await hooks_client.post(
                f"/api/v1/bots/{bot['id']}/sources",
                json={"kind": "url", "url": site.url(path)},
                headers=user.headers,
            )
            assert answer.status_code == 202, answer.text
            created.append(answer.json()["id"])
        await _work_until(worker, lambda: len(receiver.received) >= 2)
        await drain(worker)
    by_type = {r.event["type"]: r.event["data"]["source"] for r in receiver.received}

    assert len(receiver.received) == 2
    assert by_type["source.synced"]["id"] == created[0]
    assert by_type["source.synced"]["status"] == "ready"
    assert by_type["source.failed"]["id"] == created[1]
    assert by_type["source.failed"]["status"] == "error"
    assert "404" in by_type["source.failed"]["error"]

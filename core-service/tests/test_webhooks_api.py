"""Outgoing webhooks, the endpoints API: ownership (404), refused bodies and URLs (422), the
per-user bound, and the tables against their models."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.webhooks.events import DELIVERY_LOG_RETENTION
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_schema import model_differences
from testsupport.core_users import signup
from testsupport.core_webhooks import register_webhook, webhook_deliveries
from testsupport.webhook_receiver import Receiver, running_receiver


async def test_someone_elses_webhooks_and_deliveries_are_404(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    owner = await signup(hooks_client)
    other = await signup(hooks_client)
    bot = await create_bot(hooks_client, owner)
    webhook = await register_webhook(
        hooks_client, owner, "https://example.com/h", ["document.ready"]
    )
    theirs = await register_webhook(
        hooks_client, other, "https://example.com/o", ["document.ready"]
    )
    await upload(hooks_client, owner, bot["id"], "a.txt", b"Aurora.")
    await drain(make_worker(hooks_app, core_settings, worker_id="w1", webhook_timeout_s=0.2))
    [delivery] = await webhook_deliveries(hooks_client, owner, webhook["id"])
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
        await register_webhook(core_client, user, f"https://example.com/{n}", ["document.ready"])

    answer = await core_client.post(
        "/api/v1/webhooks",
        json={"url": "https://example.com/more", "events": ["document.ready"]},
        headers=user.headers,
    )

    assert (answer.status_code, answer.json()["error"]) == (422, "TooManyWebhooks")


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


async def test_the_webhook_tables_match_their_models(core_db: AsyncEngine) -> None:
    assert await model_differences(core_db, "webhook") == []


async def test_a_new_event_trims_finished_deliveries_past_the_retention_from_the_log(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_db: AsyncEngine
) -> None:
    owner = await signup(hooks_client)
    bot = await create_bot(hooks_client, owner)
    webhook = await register_webhook(
        hooks_client, owner, "https://example.com/h", ["document.ready"]
    )
    await upload(hooks_client, owner, bot["id"], "a.txt", b"Aurora.")
    worker = make_worker(hooks_app, hooks_app.state.settings, worker_id="w1")
    await drain(worker)
    [first] = await webhook_deliveries(hooks_client, owner, webhook["id"])
    older = DELIVERY_LOG_RETENTION + timedelta(days=1)
    async with core_db.begin() as connection:
        # The first delivery as if it had finished long ago; a copy of it still being tried.
        await connection.execute(
            text(
                "UPDATE webhook_deliveries SET status = 'delivered', created_at = :at "
                "WHERE id = :id"
            ),
            {"at": datetime.now(UTC) - older, "id": uuid.UUID(first["id"])},
        )
        await connection.execute(
            text(
                "INSERT INTO webhook_deliveries (id, webhook_id, bot_id, event_id, event, "
                "payload, status, attempts, created_at, retry_from) SELECT gen_random_uuid(), "
                "webhook_id, bot_id, gen_random_uuid(), event, payload, 'pending', 0, "
                "created_at, created_at FROM webhook_deliveries WHERE id = :id"
            ),
            {"id": uuid.UUID(first["id"])},
        )

    await upload(hooks_client, owner, bot["id"], "b.txt", b"Borealis.")
    await drain(worker)

    log = await webhook_deliveries(hooks_client, owner, webhook["id"])
    assert first["id"] not in [delivery["id"] for delivery in log]
    assert len(log) == 2  # the new event's delivery and the old one still being tried

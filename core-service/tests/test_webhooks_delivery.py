"""Outgoing webhooks, how deliveries go: signed, retried with backoff, bounded in time,
disabled after failing for the whole window, and never sent where the worker may not reach."""

import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI

from core_service.config import Settings
from core_service.webhooks.delivery import retry_delay_s
from core_service.worker.runner import Worker
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import SignedUpUser, signup
from testsupport.core_webhooks import (
    FAST_DELIVERY,
    LOOPBACK,
    register_webhook,
    webhook_deliveries,
    work_until,
)
from testsupport.webhook_receiver import Receiver, running_receiver, verify_signature


async def test_a_receiver_that_fails_first_gets_the_same_signed_event_until_it_accepts(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    worker = make_worker(hooks_app, core_settings, worker_id="w1", **FAST_DELIVERY)
    with running_receiver(Receiver(script=[500, 503])) as receiver:
        webhook = await register_webhook(hooks_client, user, receiver.url, ["document.ready"])
        document = (await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")).json()
        await work_until(worker, lambda: any(r.answered == 200 for r in receiver.received))
    [delivery] = await webhook_deliveries(hooks_client, user, webhook["id"])

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
        hooks_app, core_settings, worker_id="w1", **FAST_DELIVERY, webhook_retry_window_s=0.6
    )
    with running_receiver(Receiver(then=500)) as receiver:
        webhook = await register_webhook(hooks_client, user, receiver.url, ["document.ready"])
        url = f"/api/v1/webhooks/{webhook['id']}"
        await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")
        disabled = await _work_until_disabled(hooks_client, user, worker, url)
        failed_tries = len(receiver.received)
        await upload(hooks_client, user, bot["id"], "b.txt", b"Borealis.")  # while disabled
        await drain(worker)
        log_while_disabled = await webhook_deliveries(hooks_client, user, webhook["id"])

        receiver.then = 200
        enabled = await hooks_client.patch(url, json={"enabled": True}, headers=user.headers)
        [delivery] = log_while_disabled
        redelivery = await hooks_client.post(
            f"{url}/deliveries/{delivery['id']}/redeliver", headers=user.headers
        )
        await work_until(worker, lambda: receiver.received[-1].answered == 200)
    [redelivered] = await webhook_deliveries(hooks_client, user, webhook["id"])

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
        await register_webhook(hooks_client, user, hanging.url, ["document.ready"])
        await register_webhook(hooks_client, user, healthy.url, ["document.ready"])
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


async def test_a_worker_that_may_not_reach_the_address_sends_nothing(
    hooks_client: httpx.AsyncClient, hooks_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(hooks_client)
    bot = await create_bot(hooks_client, user)
    strict = make_worker(hooks_app, core_settings, worker_id="w1", webhook_retry_window_s=0.01)
    with running_receiver(Receiver()) as receiver:
        webhook = await register_webhook(hooks_client, user, receiver.url, ["document.ready"])
        await upload(hooks_client, user, bot["id"], "a.txt", b"Aurora.")
        await drain(strict)
    [delivery] = await webhook_deliveries(hooks_client, user, webhook["id"])

    assert receiver.received == []
    assert delivery["status"] == "failed"
    assert delivery["last_error"].startswith("Not sent: This URL points to a private")

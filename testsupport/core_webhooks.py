"""What the webhook tests share: settings that let a worker reach loopback receivers quickly, and
the calls that register an endpoint, read its deliveries, and work the outbox until done."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from core_service.worker.runner import Worker
from testsupport.core_content import drain
from testsupport.core_users import SignedUpUser

__all__ = ["FAST_DELIVERY", "LOOPBACK", "register_webhook", "webhook_deliveries", "work_until"]

LOOPBACK: dict[str, Any] = {"fetch_allowed_networks": "127.0.0.0/8"}
"""The receivers listen on loopback, which is refused by default."""

FAST_DELIVERY: dict[str, Any] = {
    **LOOPBACK,
    "webhook_retry_initial_s": 0.05,
    "webhook_retry_max_s": 0.2,
    "webhook_timeout_s": 2.0,
}
"""Retries within a test's time."""


async def register_webhook(
    client: httpx.AsyncClient,
    user: SignedUpUser,
    url: str,
    events: list[str],
    bot_id: str | None = None,
) -> dict[str, Any]:
    """Register an endpoint (201 asserted); its body, with the secret shown this once."""
    answer = await client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": events, "bot_id": bot_id},
        headers=user.headers,
    )
    assert answer.status_code == 201, answer.text  # noqa: S101
    body: dict[str, Any] = answer.json()
    return body


async def webhook_deliveries(
    client: httpx.AsyncClient, user: SignedUpUser, webhook_id: str
) -> list[dict[str, Any]]:
    """The endpoint's delivery log."""
    answer = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=user.headers)
    assert answer.status_code == 200, answer.text  # noqa: S101
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def work_until(worker: Worker, done: Callable[[], bool], timeout_s: float = 20) -> None:
    """Drain the outbox (retries come back after their backoff) until ``done()``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the deliveries never finished"  # noqa: S101
        await drain(worker)
        await asyncio.sleep(0.02)

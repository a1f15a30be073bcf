"""Sending a delivery: one try per job, run by the worker; the next try is a new job.

No transaction is open while the endpoint is called: read, commit, call, then write the
outcome together with the end of the job (and the next try, if any). A try is bounded by
``webhook_timeout_s`` as a whole, and an endpoint that is down is paused: its other deliveries
wait for the pause to end instead of each spending a timeout on it.
"""

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core_service.bots.models import utcnow
from core_service.config import Settings
from core_service.jobs import service as jobs_service
from core_service.jobs.models import Job
from core_service.webfetch import (
    FetchFailed,
    FetchLimits,
    SafeFetcher,
    UrlNotAllowed,
    policy_from_settings,
)
from core_service.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from core_service.webhooks.signing import SIGNATURE_HEADER, encode_body, signature_header

__all__ = ["DeliveryLeaseLost", "deliver_webhook", "give_up_delivery", "webhook_fetcher"]

_log = structlog.get_logger(__name__)

_USER_AGENT = "ChatSphere-Webhooks/1.0"
# Answers are read (to end the exchange cleanly) but not kept; a receiver has no reason to
# send more.
_MAX_ANSWER_BYTES = 64 * 1_024

Write = Callable[[AsyncSession], Awaitable[None]]


class DeliveryLeaseLost(Exception):
    """Another worker holds the job now (or a redelivery replaced it): nothing was written."""


@dataclass(frozen=True)
class _Target:
    """What a try needs, read before calling the endpoint."""

    delivery_id: uuid.UUID
    bot_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    secret: str
    payload: dict[str, Any]
    status: str
    attempts: int
    retry_from: datetime
    disabled_reason: str | None
    paused_until: datetime | None


@dataclass(frozen=True)
class _Outcome:
    """How a try went; ``endpoint_down`` when the endpoint itself is unwell (pause it)."""

    ok: bool
    response_status: int | None = None
    error: str | None = None
    endpoint_down: bool = False


async def deliver_webhook(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, worker_id: str, settings: Settings
) -> None:
    """Make one try of the job's delivery and record it; ``DeliveryLeaseLost`` if not ours."""
    async with sessionmaker() as session:
        target = await _load(session, uuid.UUID(job.payload["delivery_id"]))
    if target is None or target.status != DeliveryStatus.PENDING.value:
        await _end_job(sessionmaker, job, worker_id, None)  # the endpoint is gone, or done
        return
    if target.disabled_reason is not None:
        reason = f"Not sent: the endpoint is disabled ({target.disabled_reason})"
        await _end_job(sessionmaker, job, worker_id, lambda s: _fail(s, target, reason))
        return
    paused_until = target.paused_until
    if paused_until is not None and paused_until > utcnow():
        await _end_job(
            sessionmaker, job, worker_id, lambda s: _wait(s, target, settings, until=paused_until)
        )
        return
    outcome = await _send(target, settings)
    await _end_job(sessionmaker, job, worker_id, lambda s: _record(s, target, outcome, settings))
    _log_outcome(target, outcome)


async def _load(session: AsyncSession, delivery_id: uuid.UUID) -> _Target | None:
    row = (
        await session.execute(
            select(WebhookDelivery, Webhook)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.id == delivery_id)
        )
    ).one_or_none()
    if row is None:
        return None
    delivery, webhook = row
    return _Target(
        delivery_id=delivery.id,
        bot_id=delivery.bot_id,
        webhook_id=webhook.id,
        url=webhook.url,
        secret=webhook.secret,
        payload=delivery.payload,
        status=delivery.status,
        attempts=delivery.attempts,
        retry_from=delivery.retry_from,
        disabled_reason=(webhook.disabled_reason or "disabled") if webhook.disabled_at else None,
        paused_until=webhook.paused_until,
    )


async def _end_job(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Job,
    worker_id: str,
    write: Write | None,
) -> None:
    """End the job and write what the try changed, in one transaction."""
    async with sessionmaker() as session, session.begin():
        if not await jobs_service.finish_job(session, job_id=job.id, worker_id=worker_id):
            raise DeliveryLeaseLost
        if write is not None:
            await write(session)


async def _send(target: _Target, settings: Settings) -> _Outcome:
    """POST the signed event; any answer other than a 2xx, or none in time, is a failure."""
    body = encode_body(target.payload)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(target.secret, body, timestamp=int(time.time())),
    }
    try:
        async with webhook_fetcher(settings) as fetcher:
            answer = await fetcher.fetch(target.url, method="POST", headers=headers, content=body)
    except UrlNotAllowed as refusal:
        return _Outcome(ok=False, error=f"Not sent: {refusal.detail}", endpoint_down=True)
    except FetchFailed as failure:
        return _Outcome(ok=False, error=f"Failed: {failure.reason}.", endpoint_down=True)
    status = answer.status_code
    if 200 <= status < 300:
        return _Outcome(ok=True, response_status=status)
    down = status >= 500 or status == 429
    return _Outcome(
        ok=False,
        response_status=status,
        error=f"The endpoint answered HTTP {status}.",
        endpoint_down=down,
    )


def webhook_fetcher(settings: Settings) -> SafeFetcher:
    """The web sources' URL rules, with a webhook's bounds: a POST is never redirected (a 3xx
    is a failure), and ``webhook_timeout_s`` bounds the whole try."""
    limits = FetchLimits(
        max_bytes=_MAX_ANSWER_BYTES, timeout_s=settings.webhook_timeout_s, max_redirects=0
    )
    return SafeFetcher(policy_from_settings(settings), user_agent=_USER_AGENT, limits=limits)


async def _record(
    session: AsyncSession, target: _Target, outcome: _Outcome, settings: Settings
) -> None:
    """The try's result on the delivery and the endpoint; the next try if the window allows."""
    attempts = target.attempts + 1
    await _update_delivery(
        session,
        target,
        attempts=attempts,
        response_status=outcome.response_status,
        last_error=outcome.error,
    )
    if outcome.ok:
        await _mark_delivered(session, target)
        return
    now = utcnow()
    failing_since, last_success_at = await _note_failure(session, target, now=now)
    delay = retry_delay_s(attempts, settings)
    if outcome.endpoint_down:
        await _pause(session, target, until=now + timedelta(seconds=delay))
    window = timedelta(seconds=settings.webhook_retry_window_s)
    window_over = now + timedelta(seconds=delay) > target.retry_from + window
    # Failed for a whole window: a run of failures that long, or no success at all while this
    # delivery was tried for its whole window.
    no_success = last_success_at is None or last_success_at < target.retry_from
    if now - failing_since >= window or (window_over and no_success):
        await _disable(session, target, failing_since=failing_since, error=outcome.error)
        await _fail(session, target, f"{outcome.error} The endpoint was disabled.")
    elif window_over:
        await _fail(session, target, f"{outcome.error} Gave up after {attempts} tries.")
    else:
        await jobs_service.enqueue_webhook_delivery(
            session, bot_id=target.bot_id, delivery_id=target.delivery_id, delay_s=delay
        )


def retry_delay_s(attempts: int, settings: Settings) -> float:
    """Exponential backoff with jitter (spreads out deliveries that failed together)."""
    initial = settings.webhook_retry_initial_s
    jitter = random.uniform(0, initial)  # noqa: S311 - spreading load, not a secret
    return min(initial * 2.0 ** min(attempts - 1, 60) + jitter, settings.webhook_retry_max_s)


async def _update_delivery(session: AsyncSession, target: _Target, **values: Any) -> None:
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == target.delivery_id).values(**values)
    )


async def _mark_delivered(session: AsyncSession, target: _Target) -> None:
    await _update_delivery(
        session, target, status=DeliveryStatus.DELIVERED.value, delivered_at=utcnow()
    )
    await session.execute(
        update(Webhook)
        .where(Webhook.id == target.webhook_id)
        .values(failing_since=None, paused_until=None, last_success_at=utcnow())
    )


async def _note_failure(
    session: AsyncSession, target: _Target, *, now: datetime
) -> tuple[datetime, datetime | None]:
    """When the endpoint's current run of failures began (now, if this try starts one), and
    when it last accepted a delivery."""
    row = (
        await session.execute(
            update(Webhook)
            .where(Webhook.id == target.webhook_id)
            .values(failing_since=func.coalesce(Webhook.failing_since, now))
            .returning(Webhook.failing_since, Webhook.last_success_at)
        )
    ).one()
    return row.failing_since or now, row.last_success_at


async def _pause(session: AsyncSession, target: _Target, *, until: datetime) -> None:
    await session.execute(
        update(Webhook).where(Webhook.id == target.webhook_id).values(paused_until=until)
    )


async def _disable(
    session: AsyncSession, target: _Target, *, failing_since: datetime, error: str | None
) -> None:
    since = failing_since.isoformat(timespec="seconds")
    reason = f"Every try failed since {since}; the last: {error}"
    await session.execute(
        update(Webhook)
        .where(Webhook.id == target.webhook_id, Webhook.disabled_at.is_(None))
        .values(disabled_at=utcnow(), disabled_reason=reason[:2_000])
    )


async def _fail(session: AsyncSession, target: _Target, reason: str) -> None:
    await give_up_delivery(session, delivery_id=target.delivery_id, reason=reason)


async def give_up_delivery(session: AsyncSession, *, delivery_id: uuid.UUID, reason: str) -> None:
    """The delivery ends ``failed`` with ``reason`` (the owner may still redeliver it)."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(status=DeliveryStatus.FAILED.value, last_error=reason[:2_000])
    )


async def _wait(
    session: AsyncSession, target: _Target, settings: Settings, *, until: datetime
) -> None:
    """The endpoint is paused: try when the pause ends, if that is within the window."""
    window_end = target.retry_from + timedelta(seconds=settings.webhook_retry_window_s)
    if until > window_end:
        await _fail(session, target, "Not sent: the endpoint kept failing all the retry window.")
        return
    # Jitter: the paused deliveries do not all come back at the same moment.
    delay = (until - utcnow()).total_seconds() + random.uniform(0, 1)  # noqa: S311
    await jobs_service.enqueue_webhook_delivery(
        session, bot_id=target.bot_id, delivery_id=target.delivery_id, delay_s=delay
    )


def _log_outcome(target: _Target, outcome: _Outcome) -> None:
    # Never the URL (it may carry a token) nor the secret.
    fields = {
        "delivery_id": str(target.delivery_id),
        "webhook_id": str(target.webhook_id),
        "attempt": target.attempts + 1,
        "response_status": outcome.response_status,
    }
    if outcome.ok:
        _log.info("webhook_delivered", **fields)
    else:
        _log.warning("webhook_try_failed", error=outcome.error, **fields)

"""Plans, usage and quotas: ``GET /plans``, ``GET /usage`` and the ``consume`` dependency."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core_service.usage import service as usage_service
from core_service.usage.exceptions import QuotaExceeded
from core_service.usage.service import UsageMetric
from core_service.users import service as users_service
from core_service.users.models import User
from testsupport.core_users import plans_restored, signup

_MIB = 1_048_576


async def _load_user(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> User:
    async with sessionmaker() as session:
        return await users_service.require_user(session, user_id=uuid.UUID(user_id))


async def _consume(
    sessionmaker: async_sessionmaker[AsyncSession], user: User, metric: UsageMetric, amount: int
) -> None:
    async with sessionmaker.begin() as session:
        await usage_service.consume(session, user=user, metric=metric, amount=amount)


async def test_plans_are_listed_with_their_limits(core_client: httpx.AsyncClient) -> None:
    response = await core_client.get("/api/v1/plans")
    assert response.status_code == 200
    plans = {plan["name"]: plan for plan in response.json()}
    assert set(plans) == {"free", "pro", "enterprise"}
    free = plans["free"]["limits"]
    assert free["max_bots"] >= 3
    assert free["max_documents"] >= 100
    assert free["max_messages_per_month"] >= 1_000
    assert free["max_upload_mb"] >= 10
    assert plans["free"]["price"] == "0.00"


async def test_usage_starts_at_zero_against_the_free_plan(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    response = await core_client.get("/api/v1/usage", headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["plan"] == "free"
    assert body["bots"] == {"used": 0, "limit": 3}
    assert body["messages"]["used"] == 0


async def test_consume_counts_and_release_gives_back(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    signed_up = await signup(core_client)
    sessionmaker = async_sessionmaker(core_db, expire_on_commit=False)
    user = await _load_user(sessionmaker, signed_up.id)
    await _consume(sessionmaker, user, UsageMetric.BOTS, 3)
    with pytest.raises(QuotaExceeded) as refused:
        await _consume(sessionmaker, user, UsageMetric.BOTS, 1)
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "3600"}
    async with sessionmaker.begin() as session:
        await usage_service.release(session, user=user, metric=UsageMetric.BOTS, amount=5)
    usage = (await core_client.get("/api/v1/usage", headers=signed_up.headers)).json()
    assert usage["bots"]["used"] == 0


async def test_message_quota_has_a_retry_after_until_next_month(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    signed_up = await signup(core_client)
    sessionmaker = async_sessionmaker(core_db, expire_on_commit=False)
    user = await _load_user(sessionmaker, signed_up.id)
    limits = await _limits(sessionmaker, user)
    await _consume(sessionmaker, user, UsageMetric.MESSAGES, limits.max_messages_per_month)
    with pytest.raises(QuotaExceeded) as refused:
        await _consume(sessionmaker, user, UsageMetric.MESSAGES, 1)
    assert refused.value.headers is not None
    assert 0 < int(refused.value.headers["Retry-After"]) <= 31 * 86_400


async def _limits(
    sessionmaker: async_sessionmaker[AsyncSession], user: User
) -> usage_service.PlanLimits:
    async with sessionmaker() as session:
        return await usage_service.plan_limits(session, user=user)


async def test_concurrent_consumers_never_pass_the_limit(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    signed_up = await signup(core_client)
    sessionmaker = async_sessionmaker(core_db, expire_on_commit=False)
    user = await _load_user(sessionmaker, signed_up.id)
    results = await asyncio.gather(
        *(_consume(sessionmaker, user, UsageMetric.BOTS, 1) for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(result is None for result in results) == 3
    assert all(isinstance(r, QuotaExceeded) for r in results if r is not None)


async def _allows(
    sessionmaker: async_sessionmaker[AsyncSession],
    user: User,
    amount: int,
    operation: Callable[..., Awaitable[None]],
) -> bool:
    async with sessionmaker() as session:  # rolled back when the block ends: nothing is kept
        try:
            await operation(session, user=user, metric=UsageMetric.STORED_BYTES, amount=amount)
        except QuotaExceeded:
            return False
        return True


@pytest.mark.parametrize(
    ("cap_mb", "used", "amount", "allowed"),
    [
        (None, 0, 10**15, True),  # a NULL cap is unlimited
        (None, 10**15, 10**15, True),
        (1, 0, _MIB, True),
        (1, _MIB, 1, False),
        (1, 1, _MIB, False),
    ],
)
async def test_the_check_and_the_charge_apply_one_quota_rule(
    core_client: httpx.AsyncClient,
    core_db: AsyncEngine,
    cap_mb: int | None,
    used: int,
    amount: int,
    allowed: bool,
) -> None:
    # A chat turn checks its quota when it starts and charges it when the answer is stored.
    signed_up = await signup(core_client)
    sessionmaker = async_sessionmaker(core_db, expire_on_commit=False)
    user = await _load_user(sessionmaker, signed_up.id)
    async with plans_restored(core_db):
        async with core_db.begin() as connection:
            await connection.execute(
                text("UPDATE subscription_plans SET max_storage_mb = :cap WHERE name = 'free'"),
                {"cap": cap_mb},
            )
            await connection.execute(
                text(
                    "INSERT INTO usage_counters (user_id, metric, period, amount, updated_at)"
                    " VALUES (:user, 'stored_bytes', 'all', :used, now())"
                ),
                {"user": user.id, "used": used},
            )
        checked = await _allows(sessionmaker, user, amount, usage_service.ensure_available)
        charged = await _allows(sessionmaker, user, amount, usage_service.consume)

    assert (checked, charged) == (allowed, allowed)

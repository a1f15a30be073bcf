"""Check and count use against the plan: one atomic upsert, safe under concurrency."""

import math
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.auth.clock import utcnow
from core_service.plans import service as plans_service
from core_service.plans.models import SubscriptionPlan
from core_service.plans.schemas import PlanLimits, plan_limits_of
from core_service.usage.exceptions import QuotaExceeded
from core_service.usage.models import LIFETIME_PERIOD, UsageCounter
from core_service.users.models import User

__all__ = [
    "PlanLimits",
    "UsageMetric",
    "consume",
    "current_usage",
    "limit_for",
    "month_bounds",
    "period_of",
    "plan_limits",
    "quota_exceeded",
    "release",
]

_MIB = 1_048_576


class UsageMetric(StrEnum):
    """What is metered; only messages reset each month."""

    MESSAGES = "messages"
    DOCUMENTS = "documents"
    BOTS = "bots"
    STORED_BYTES = "stored_bytes"


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The first instant of ``now``'s UTC month and of the next one."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def period_of(metric: UsageMetric, now: datetime) -> str:
    """``YYYY-MM`` for monthly metrics, ``all`` for the rest."""
    return now.strftime("%Y-%m") if metric is UsageMetric.MESSAGES else LIFETIME_PERIOD


def limit_for(limits: PlanLimits, metric: UsageMetric) -> int | None:
    """The plan's cap on ``metric``; None is unlimited."""
    if metric is UsageMetric.MESSAGES:
        return limits.max_messages_per_month
    if metric is UsageMetric.DOCUMENTS:
        return limits.max_documents
    if metric is UsageMetric.BOTS:
        return limits.max_bots
    return None if limits.max_storage_mb is None else limits.max_storage_mb * _MIB


async def plan_limits(session: AsyncSession, *, user: User) -> PlanLimits:
    """The limits of the user's plan (the free plan when none is set)."""
    plan: SubscriptionPlan | None = None
    if user.subscription_plan_id is not None:
        plan = await session.get(SubscriptionPlan, user.subscription_plan_id)
    if plan is None:
        plan = await plans_service.get_free_plan(session)
    return plan_limits_of(plan)


# Adds `amount` only while the total stays within `cap` (NULL cap: no limit). The row lock
# taken by ON CONFLICT serialises concurrent callers, so two cannot both take the last unit.
_CONSUME = text(
    """
    INSERT INTO usage_counters AS u (user_id, metric, period, amount, updated_at)
    SELECT CAST(:user_id AS uuid), CAST(:metric AS varchar), CAST(:period AS varchar),
           CAST(:amount AS bigint), now()
    WHERE CAST(:cap AS bigint) IS NULL OR CAST(:amount AS bigint) <= CAST(:cap AS bigint)
    ON CONFLICT (user_id, metric, period) DO UPDATE
        SET amount = u.amount + EXCLUDED.amount, updated_at = now()
        WHERE CAST(:cap AS bigint) IS NULL OR u.amount + EXCLUDED.amount <= CAST(:cap AS bigint)
    RETURNING u.amount
    """
)


async def consume(
    session: AsyncSession, *, user: User, metric: UsageMetric, amount: int = 1
) -> None:
    """Record ``amount`` of use, or raise ``QuotaExceeded`` (429) if the plan does not allow it."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    now = utcnow()
    cap = limit_for(await plan_limits(session, user=user), metric)
    params = {
        "user_id": user.id,
        "metric": metric.value,
        "period": period_of(metric, now),
        "amount": amount,
        "cap": cap,
    }
    if (await session.execute(_CONSUME, params)).first() is None:
        raise quota_exceeded(metric, cap, now)


def quota_exceeded(metric: UsageMetric, cap: int | None, now: datetime) -> QuotaExceeded:
    """The 429 for ``metric`` past ``cap`` (monthly messages say when the count resets)."""
    detail = f"Your plan allows at most {cap} {metric.value.replace('_', ' ')}"
    if metric is not UsageMetric.MESSAGES:
        return QuotaExceeded(detail + "; delete some or upgrade your plan.")
    reset_at = month_bounds(now)[1]
    retry_after_s = max(1, math.ceil((reset_at - now).total_seconds()))
    return QuotaExceeded(
        detail + " per month; the count resets at the start of next month.",
        retry_after_s=retry_after_s,
    )


async def release(
    session: AsyncSession, *, user: User, metric: UsageMetric, amount: int = 1
) -> None:
    """Give back use (a bot or document deleted, bytes freed); never below zero."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    await session.execute(
        update(UsageCounter)
        .where(
            UsageCounter.user_id == user.id,
            UsageCounter.metric == metric.value,
            UsageCounter.period == period_of(metric, utcnow()),
        )
        .values(amount=func.greatest(UsageCounter.amount - amount, 0), updated_at=func.now())
    )


async def current_usage(session: AsyncSession, *, user: User) -> dict[UsageMetric, int]:
    """The user's use of every metric in the current period."""
    now = utcnow()
    periods = {metric: period_of(metric, now) for metric in UsageMetric}
    rows = await session.execute(
        select(UsageCounter.metric, UsageCounter.period, UsageCounter.amount).where(
            UsageCounter.user_id == user.id, UsageCounter.period.in_(set(periods.values()))
        )
    )
    used = dict.fromkeys(UsageMetric, 0)
    for metric_name, period, amount in rows:
        metric = UsageMetric(metric_name)
        if periods[metric] == period:
            used[metric] = int(amount)
    return used

"""Check and count use against the plan: one atomic upsert, safe under concurrency."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    String,
    Table,
    Uuid,
    bindparam,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from core_service.auth.clock import utcnow
from core_service.plans import service as plans_service
from core_service.plans.models import SubscriptionPlan
from core_service.plans.schemas import PlanLimits, plan_limits_of
from core_service.usage.exceptions import QuotaExceeded
from core_service.usage.models import LIFETIME_PERIOD, UsageCounter
from core_service.users.models import User

__all__ = [
    "PlanLimits",
    "QuotaCheck",
    "UsageMetric",
    "consume",
    "current_usage",
    "ensure_available",
    "limit_for",
    "month_bounds",
    "period_of",
    "plan_limits",
    "quota_check",
    "quota_exceeded",
    "release",
    "within_cap",
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


def within_cap(
    total: ColumnElement[int], cap: int | None | BindParameter[int]
) -> ColumnElement[bool]:
    """The quota rule: ``total`` use is allowed under ``cap``; a None cap is unlimited."""
    cap_value = cap if isinstance(cap, BindParameter) else literal(cap, BigInteger())
    return or_(cap_value.is_(None), total <= cap_value)


def _consume_statement() -> ReturningInsert[tuple[int]]:
    # Adds the requested amount only while the total stays within the cap. The row lock taken
    # by ON CONFLICT serialises concurrent callers, so two cannot both take the last unit.
    # Parameters are named apart from the columns, so that they bind values, not VALUES.
    requested = bindparam("requested", type_=BigInteger())
    cap = bindparam("cap", type_=BigInteger())
    first_use = select(
        bindparam("counter_user", type_=Uuid()),
        bindparam("counter_metric", type_=String()),
        bindparam("counter_period", type_=String()),
        requested,
        func.now(),
    ).where(within_cap(requested, cap))
    columns = ["user_id", "metric", "period", "amount", "updated_at"]
    statement = pg_insert(cast(Table, UsageCounter.__table__)).from_select(columns, first_use)
    added = UsageCounter.amount + statement.excluded.amount
    return statement.on_conflict_do_update(
        index_elements=[UsageCounter.user_id, UsageCounter.metric, UsageCounter.period],
        set_={"amount": added, "updated_at": func.now()},
        where=within_cap(added, cap),
    ).returning(UsageCounter.amount)


# Built once, the values bound per call: building it on every turn cost more than running it.
_CONSUME = _consume_statement()


async def consume(
    session: AsyncSession, *, user: User, metric: UsageMetric, amount: int = 1
) -> None:
    """Record ``amount`` of use, or raise ``QuotaExceeded`` (429) if the plan does not allow it."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    now = utcnow()
    cap = limit_for(await plan_limits(session, user=user), metric)
    values = {
        "counter_user": user.id,
        "counter_metric": metric.value,
        "counter_period": period_of(metric, now),
        "requested": amount,
        "cap": cap,
    }
    if (await session.execute(_CONSUME, values)).first() is None:
        raise quota_exceeded(metric, cap, now)


@dataclass(frozen=True)
class QuotaCheck:
    """Whether the use asked for is within the plan now (an SQL expression), and its 429."""

    allowed: ColumnElement[bool]
    metric: UsageMetric
    cap: int | None
    now: datetime

    def refusal(self) -> QuotaExceeded:
        """The 429 to raise when ``allowed`` was false."""
        return quota_exceeded(self.metric, self.cap, self.now)


async def quota_check(
    session: AsyncSession, *, user: User, metric: UsageMetric, amount: int = 1
) -> QuotaCheck:
    """The check ``consume`` makes, without counting: to run on its own (``ensure_available``)
    or inside a caller's statement."""
    now = utcnow()
    cap = limit_for(await plan_limits(session, user=user), metric)
    used = select(UsageCounter.amount).where(*_counter_of(user, metric, now)).scalar_subquery()
    total = func.coalesce(used, 0) + literal(amount, BigInteger())
    return QuotaCheck(allowed=within_cap(total, cap), metric=metric, cap=cap, now=now)


async def ensure_available(
    session: AsyncSession, *, user: User, metric: UsageMetric, amount: int = 1
) -> None:
    """Raise ``QuotaExceeded`` unless ``consume`` of ``amount`` would be allowed now (nothing is
    counted: the use is counted later, by ``consume``)."""
    check = await quota_check(session, user=user, metric=metric, amount=amount)
    if not await session.scalar(select(check.allowed)):
        raise check.refusal()


def _counter_of(user: User, metric: UsageMetric, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        UsageCounter.user_id == user.id,
        UsageCounter.metric == metric.value,
        UsageCounter.period == period_of(metric, now),
    )


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
        .where(*_counter_of(user, metric, utcnow()))
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

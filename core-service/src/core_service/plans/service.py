"""Reading plans."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.plans.exceptions import PlanNotFound
from core_service.plans.models import FREE_PLAN_NAME, SubscriptionPlan

__all__ = ["get_free_plan", "get_plan_by_name", "get_plan_by_stripe_price", "list_plans"]


async def list_plans(session: AsyncSession) -> Sequence[SubscriptionPlan]:
    """Every plan, cheapest first."""
    result = await session.scalars(
        select(SubscriptionPlan).order_by(SubscriptionPlan.price, SubscriptionPlan.name)
    )
    return result.all()


async def get_plan_by_name(session: AsyncSession, *, name: str) -> SubscriptionPlan:
    """The plan called ``name``; ``PlanNotFound`` otherwise."""
    plan = await session.scalar(select(SubscriptionPlan).where(SubscriptionPlan.name == name))
    if plan is None:
        raise PlanNotFound(f"There is no plan called {name!r}.")
    return plan


async def get_free_plan(session: AsyncSession) -> SubscriptionPlan:
    """The plan new users start on (seeded by the first migration)."""
    return await get_plan_by_name(session, name=FREE_PLAN_NAME)


async def get_plan_by_stripe_price(
    session: AsyncSession, *, price_id: str
) -> SubscriptionPlan | None:
    """The plan sold under a Stripe price, if any."""
    return await session.scalar(
        select(SubscriptionPlan).where(SubscriptionPlan.stripe_price_id == price_id)
    )

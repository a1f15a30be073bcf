"""``GET /api/v1/usage``."""

from fastapi import APIRouter

from core_service.auth.clock import utcnow
from core_service.auth.dependencies import CurrentUser
from core_service.database import SessionDep
from core_service.usage import service as usage_service
from core_service.usage.schemas import MetricUsage, UsageRead
from core_service.usage.service import UsageMetric

__all__ = ["router"]

router = APIRouter(prefix="/usage", tags=["usage"])


@router.get("", response_model=UsageRead)
async def read_usage(session: SessionDep, user: CurrentUser) -> UsageRead:
    """The caller's use this period against their plan's limits."""
    limits = await usage_service.plan_limits(session, user=user)
    used = await usage_service.current_usage(session, user=user)
    start, end = usage_service.month_bounds(utcnow())

    def metric(name: UsageMetric) -> MetricUsage:
        return MetricUsage(used=used[name], limit=usage_service.limit_for(limits, name))

    plan = user.subscription_plan
    return UsageRead(
        plan=plan.name if plan is not None else "free",
        period_start=start,
        period_end=end,
        messages=metric(UsageMetric.MESSAGES),
        documents=metric(UsageMetric.DOCUMENTS),
        bots=metric(UsageMetric.BOTS),
        stored_bytes=metric(UsageMetric.STORED_BYTES),
    )

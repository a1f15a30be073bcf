"""``GET /api/v1/plans``."""

from fastapi import APIRouter

from core_service.database import SessionDep
from core_service.plans import service as plans_service
from core_service.plans.schemas import PlanRead, plan_read

__all__ = ["router"]

router = APIRouter(prefix="/plans", tags=["plans"])


@router.get("", response_model=list[PlanRead])
async def list_plans(session: SessionDep) -> list[PlanRead]:
    """Every plan with its price and limits (public)."""
    return [plan_read(plan) for plan in await plans_service.list_plans(session)]

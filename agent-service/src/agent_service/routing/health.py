"""``/healthz`` answers while the process is up; ``/readyz`` checks the vector database."""

import asyncio

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agent_service import __version__
from chatsphere_contracts.v1 import CheckStatus, HealthResponse, ReadinessResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status=CheckStatus.OK, service="agent-service", version=__version__)


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    responses={503: {"model": ReadinessResponse, "description": "A dependency is down."}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the vector database answers within the readiness timeout, else 503."""
    pool: asyncpg.Pool | None = request.app.state.pool
    checks: dict[str, CheckStatus] = {}
    if pool is not None:
        checks["database"] = await _check_pool(pool, request.app.state.settings.readiness_timeout_s)
    ready = all(status is CheckStatus.OK for status in checks.values())
    body = ReadinessResponse(status=CheckStatus.OK if ready else CheckStatus.FAILING, checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


async def _check_pool(pool: asyncpg.Pool, limit_s: float) -> CheckStatus:
    try:
        async with asyncio.timeout(limit_s):
            await pool.fetchval("SELECT 1", timeout=limit_s)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return CheckStatus.FAILING
    return CheckStatus.OK

"""``/healthz`` answers while the process is up; ``/readyz`` checks the database."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsphere_contracts.v1 import CheckStatus, HealthResponse, ReadinessResponse
from core_service import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status=CheckStatus.OK, service="core-service", version=__version__)


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    responses={503: {"model": ReadinessResponse, "description": "A dependency is down."}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers within the readiness timeout, else 503."""
    engine: AsyncEngine = request.app.state.engine
    timeout = request.app.state.settings.readiness_timeout_s
    database = await _check_database(engine, timeout)
    ready = database is CheckStatus.OK
    body = ReadinessResponse(
        status=CheckStatus.OK if ready else CheckStatus.FAILING, checks={"database": database}
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


async def _check_database(engine: AsyncEngine, limit_s: float) -> CheckStatus:
    try:
        async with asyncio.timeout(limit_s), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return CheckStatus.FAILING
    return CheckStatus.OK

"""The worker loop: claims outbox jobs until asked to stop."""

import asyncio

import structlog

from core_service.config import Settings
from core_service.database import create_engine

__all__ = ["run_worker"]

_log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, *, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set, then release the database connections."""
    engine = create_engine(settings)
    try:
        _log.info("worker_started")
        await stop.wait()
    finally:
        await engine.dispose()
        _log.info("worker_stopped")

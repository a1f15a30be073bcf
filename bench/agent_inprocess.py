"""The agent app in-process, for the quality benchmarks that only measure answers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from agent_service.config import Settings
from agent_service.main import create_app

__all__ = ["AUTH", "agent_client"]

AUTH = {"Authorization": "Bearer development-only-agent-key"}


@asynccontextmanager
async def agent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A started agent app and a client that talks to it in-process with the development key."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", headers=AUTH, timeout=300
        ) as client:
            yield client

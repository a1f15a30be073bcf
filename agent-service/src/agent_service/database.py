"""The asyncpg pool of the agent's own vector database, created in the app's lifespan."""

import asyncpg

from agent_service.config import Settings

__all__ = ["create_pool", "plain_dsn"]


def plain_dsn(url: str) -> str:
    """asyncpg takes ``postgresql://``; accept SQLAlchemy-style ``postgresql+asyncpg://`` too."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """A connection pool for ``settings.database_url``."""
    if settings.database_url is None:
        raise RuntimeError("AGENT_DATABASE_URL is not set; start the platform with `make run`")
    return await asyncpg.create_pool(
        plain_dsn(settings.database_url),
        min_size=settings.database_pool_min_size,
        max_size=settings.database_pool_max_size,
        server_settings={"application_name": settings.service_name},
    )

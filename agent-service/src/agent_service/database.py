"""The asyncpg pool of the agent's own vector database, created in the app's lifespan."""

from collections.abc import Awaitable, Callable

import asyncpg
from pgvector.asyncpg import register_vector

from agent_service.config import Settings
from agent_service.retrieval.pgvector_store import session_settings

__all__ = ["create_pool", "plain_dsn"]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo when a connection returns to the pool: no query here sets, locks,
    listens or leaves a cursor open, and the default reset would cost every query a second
    round trip. (asyncpg still rolls back a transaction left open.)"""


def plain_dsn(url: str) -> str:
    """asyncpg takes ``postgresql://``; accept SQLAlchemy-style ``postgresql+asyncpg://`` too."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


async def create_pool(
    settings: Settings, *, prepare: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
) -> asyncpg.Pool:
    """A pool for ``settings.database_url`` whose connections speak pgvector's ``vector``.

    ``prepare`` runs first on a connection of its own (schema set-up): the codec needs the
    extension to exist before any pooled connection starts.
    """
    if settings.database_url is None:
        raise RuntimeError("AGENT_DATABASE_URL is not set; start the platform with `make run`")
    dsn = plain_dsn(settings.database_url)
    if prepare is not None:
        connection = await asyncpg.connect(dsn)
        try:
            await prepare(connection)
        finally:
            await connection.close()
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.database_pool_min_size,
        max_size=settings.database_pool_max_size,
        # Settings given at connect time are the session's defaults: RESET ALL keeps them, and
        # no query pays a round trip to set them.
        server_settings={
            "application_name": settings.service_name,
            **session_settings(ef_search=settings.hnsw_ef_search),
        },
        init=register_vector,
        reset=_keep_session,
        # The vector database is a dependency like any provider: no query may hang a request.
        command_timeout=settings.provider_timeout_s,
    )

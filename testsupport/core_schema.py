"""Whether the migrated core database matches the ORM models, for the tables a test names."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.models import Base

__all__ = ["model_differences"]


async def model_differences(engine: AsyncEngine, *names: str) -> list[Any]:
    """Alembic's differences between the database and the models that mention any of ``names``
    (column types compared too): empty when the migrations create what the models declare."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found = compare_metadata(context, Base.metadata)
        return [d for d in found if any(name in str(d) for name in names)]

    async with engine.connect() as connection:
        return await connection.run_sync(compare)

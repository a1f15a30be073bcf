"""Migration 0001 creates exactly what the account models describe, and seeds usable plans."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.models import Base

ACCOUNT_TABLES = {
    "subscription_plans",
    "users",
    "refresh_tokens",
    "usage_counters",
    "rate_limit_buckets",
    "stripe_events",
}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):
        diff = diff[0]
    for part in diff[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in ACCOUNT_TABLES:
            return part
        if name in ACCOUNT_TABLES:
            return str(name)
    return None


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in ACCOUNT_TABLES]


async def test_the_account_tables_match_their_models(core_db: AsyncEngine) -> None:
    async with core_db.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_the_seeded_free_plan_is_usable_self_hosted(core_db: AsyncEngine) -> None:
    async with core_db.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM subscription_plans"))).mappings()
        plans = {row["name"]: row for row in rows}
    assert set(plans) == {"free", "pro", "enterprise"}
    free = plans["free"]
    assert free["max_bots"] >= 3
    assert free["max_documents"] >= 100
    assert free["max_messages_per_month"] >= 1_000
    assert free["max_upload_mb"] >= 10
    assert (
        plans["enterprise"]["max_upload_mb"]
        >= plans["pro"]["max_upload_mb"]
        >= free["max_upload_mb"]
    )

"""Bot operations; every query is scoped to the owner."""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.bots.configuration import merge_configuration
from core_service.bots.models import Bot
from core_service.bots.schemas import BotCreate, BotUpdate
from core_service.database import ReadPool
from core_service.documents.models import Document
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.usage.service import UsageMetric, consume, release
from core_service.users.models import User

__all__ = ["BotListing", "create_bot", "delete_bot", "get_bot", "list_bots", "update_bot"]

# The hottest read of the API in one round trip: whether the owner may still sign in, how many
# bots they have, and one page of them (no bot rows: one row of NULLs from the LEFT JOIN).
_LIST_BOTS_SQL = """
SELECT u.is_active,
       (SELECT count(*) FROM bots WHERE bots.owner_id = u.id) AS total,
       page.id, page.name, page.description, page.configuration, page.owner_id,
       page.created_at, page.updated_at
FROM users AS u
LEFT JOIN LATERAL (
    SELECT * FROM bots WHERE bots.owner_id = u.id
    ORDER BY bots.created_at DESC, bots.id LIMIT $2 OFFSET $3
) AS page ON true
WHERE u.id = $1
"""
_BOT_COLUMNS = (
    "id",
    "name",
    "description",
    "configuration",
    "owner_id",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class BotListing:
    """One page of an owner's bots (as column mappings) and how many there are."""

    bots: list[dict[str, Any]]
    total: int


async def create_bot(session: AsyncSession, *, owner: User, data: BotCreate) -> Bot:
    """A new bot, counted against the owner's plan."""
    await consume(session, user=owner, metric=UsageMetric.BOTS)
    bot = Bot(
        owner_id=owner.id,
        name=data.name,
        description=data.description,
        configuration=data.configuration.model_dump(mode="json"),
    )
    session.add(bot)
    await session.flush()
    return bot


async def get_bot(session: AsyncSession, *, bot_id: uuid.UUID, owner_id: uuid.UUID) -> Bot | None:
    """The owner's bot, or None (also when someone else owns it)."""
    found = await session.scalars(select(Bot).where(Bot.id == bot_id, Bot.owner_id == owner_id))
    return found.one_or_none()


async def list_bots(pool: ReadPool, *, owner_id: uuid.UUID, page: PageParams) -> BotListing | None:
    """One page of the owner's bots, newest first; None when the owner is gone or inactive."""
    async with pool.connection() as connection:
        rows = await connection.fetch(_LIST_BOTS_SQL, owner_id, page.limit, page.offset)
    if not rows or not rows[0]["is_active"]:
        return None
    bots = [{column: row[column] for column in _BOT_COLUMNS} for row in rows if row["id"]]
    return BotListing(bots=bots, total=rows[0]["total"])


async def update_bot(session: AsyncSession, *, bot: Bot, data: BotUpdate) -> Bot:
    """Apply the given fields; configuration fields merge into the stored configuration."""
    if data.name is not None:
        bot.name = data.name
    if data.description is not None:
        bot.description = data.description
    if data.configuration is not None:
        try:
            merged = merge_configuration(bot.configuration, data.configuration)
        except ValidationError as error:
            raise RequestValidationError(
                [{**e, "loc": ("body", "configuration", *e["loc"])} for e in error.errors()]
            ) from error
        bot.configuration = merged.model_dump(mode="json")
    await session.flush()
    return bot


async def delete_bot(session: AsyncSession, *, bot: Bot, owner: User) -> None:
    """Delete the bot with its documents and conversations; its vectors go in the background."""
    count, stored = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Document.size_bytes), 0)).where(
                Document.bot_id == bot.id
            )
        )
    ).one()
    await jobs_service.enqueue_vector_deletion(session, bot_id=bot.id)
    await session.execute(delete(Bot).where(Bot.id == bot.id))
    await release(session, user=owner, metric=UsageMetric.BOTS)
    await release(session, user=owner, metric=UsageMetric.DOCUMENTS, amount=int(count))
    await release(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=int(stored))

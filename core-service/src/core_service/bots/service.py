"""Bot operations; every query is scoped to the owner."""

import uuid

import asyncpg
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import BindParameter, ColumnElement, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core_service.bots.configuration import merge_configuration
from core_service.bots.models import Bot
from core_service.bots.schemas import BotCreate, BotUpdate
from core_service.database import DriverStatement
from core_service.documents.models import Document, DocumentStatus
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.usage.service import UsageMetric, consume, release
from core_service.users.models import User

__all__ = [
    "create_bot",
    "delete_bot",
    "get_bot",
    "list_bots",
    "owned_by",
    "update_bot",
]


def owned_by(owner_id: uuid.UUID | BindParameter[uuid.UUID]) -> ColumnElement[bool]:
    """The ownership rule: the bot is ``owner_id``'s (a value or a bound parameter)."""
    return Bot.owner_id == owner_id


# Built once, with the owner and the page bound per call, and run by the driver
# (``DriverStatement``): building and running it through the ORM on every request cost
# several times the query itself (BENCHMARKS.md, API overhead). The total rides along with the
# page (a window count is taken before LIMIT): one round trip; only a page past the end needs
# its own count.
_PAGE_OF_BOTS = DriverStatement.compile(
    select(*Bot.__table__.columns, func.count().over().label("total"))
    .where(owned_by(bindparam("owner_id")))
    .order_by(Bot.created_at.desc(), Bot.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_COUNT_OF_BOTS = DriverStatement.compile(
    select(func.count().label("total")).select_from(Bot).where(owned_by(bindparam("owner_id")))
)


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
    found = await session.scalars(select(Bot).where(Bot.id == bot_id, owned_by(owner_id)))
    return found.one_or_none()


async def list_bots(
    source: AsyncSession | AsyncEngine, *, owner_id: uuid.UUID, page: PageParams
) -> tuple[list[asyncpg.Record], int]:
    """One page of the owner's bots (their columns by name), newest first, and how many
    there are."""
    values = {"owner_id": owner_id, "limit": page.limit, "offset": page.offset}
    rows = await _PAGE_OF_BOTS.fetch(source, values)
    if rows:
        return rows, rows[0]["total"]
    counted = await _COUNT_OF_BOTS.fetch(source, {"owner_id": owner_id})
    return [], counted[0]["total"]


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
            # Failed documents were released when they failed.
            select(func.count(), func.coalesce(func.sum(Document.size_bytes), 0)).where(
                Document.bot_id == bot.id, Document.status != DocumentStatus.ERROR.value
            )
        )
    ).one()
    await jobs_service.enqueue_vector_deletion(session, bot_id=bot.id)
    await session.execute(delete(Bot).where(Bot.id == bot.id))
    await release(session, user=owner, metric=UsageMetric.BOTS)
    await release(session, user=owner, metric=UsageMetric.DOCUMENTS, amount=int(count))
    await release(session, user=owner, metric=UsageMetric.STORED_BYTES, amount=int(stored))

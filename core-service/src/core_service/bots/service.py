"""Bot operations; every query is scoped to the owner."""

import json
import uuid
from dataclasses import dataclass

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.auth.exceptions import InvalidToken
from core_service.bots.configuration import BotConfiguration, merge_configuration
from core_service.bots.models import Bot
from core_service.bots.schemas import BotCreate, BotUpdate
from core_service.database import DirectPool
from core_service.documents.models import Document, DocumentStatus
from core_service.jobs import service as jobs_service
from core_service.pagination import PageParams
from core_service.usage.service import UsageMetric, consume, release
from core_service.users.models import User

__all__ = [
    "LIST_BOTS_SQL",
    "BotListing",
    "create_bot",
    "delete_bot",
    "get_bot",
    "list_bots",
    "update_bot",
]


def _utc_timestamp(column: str) -> str:
    """SQL writing a timestamp as pydantic does: UTC, ``Z``, microseconds only when not zero."""
    iso = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    return f"replace({iso}, '.000000Z', 'Z')"


def _sql_text(value: str) -> str:
    """A constant of ours as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


_DEFAULTS = BotConfiguration().model_dump(mode="json")
# A configuration stored before a field was added reads with that field's default.
_CONFIGURATION = (
    f"CASE WHEN page.configuration ?& ARRAY[{', '.join(map(_sql_text, _DEFAULTS))}]"
    " THEN page.configuration"
    f" ELSE {_sql_text(json.dumps(_DEFAULTS))}::jsonb || page.configuration END"
)

# The hottest read of the API in one round trip: whether the owner may still sign in, how many
# bots they have, and one page of them written by PostgreSQL as the JSON of ``BotRead``, which
# goes to the client as it is (parsing, checking and writing it again in Python had been about
# a quarter of the request's CPU). Every write checks what is stored, and tests hold the listed bots
# equal to ``GET /bots/{id}``. Built once from this module's constants; no input is spliced in.
LIST_BOTS_SQL = f"""
SELECT u.is_active,
       (SELECT count(*) FROM bots WHERE bots.owner_id = u.id) AS total,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', page.id,
                   'name', page.name,
                   'description', page.description,
                   'configuration', {_CONFIGURATION},
                   'owner_id', page.owner_id,
                   'created_at', {_utc_timestamp("page.created_at")},
                   'updated_at', {_utc_timestamp("page.updated_at")})
                 ORDER BY page.created_at DESC, page.id), '[]')::text
        FROM (SELECT id, name, description, configuration, owner_id, created_at, updated_at
              FROM bots WHERE bots.owner_id = u.id
              ORDER BY created_at DESC, id LIMIT $2 OFFSET $3) AS page) AS items
FROM users AS u
WHERE u.id = $1
"""  # noqa: S608 - see above


@dataclass(frozen=True)
class BotListing:
    """One page of an owner's bots (a JSON array of ``BotRead``) and how many there are."""

    items_json: str
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


async def list_bots(pool: DirectPool, *, owner_id: uuid.UUID, page: PageParams) -> BotListing:
    """One page of the owner's bots, newest first; 401 when the owner is gone or inactive."""
    async with pool.connection() as connection:
        row = await connection.fetchrow(LIST_BOTS_SQL, owner_id, page.limit, page.offset)
    if row is None or not row["is_active"]:
        raise InvalidToken
    return BotListing(items_json=row["items"], total=row["total"])


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

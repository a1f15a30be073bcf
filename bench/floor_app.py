"""The floor of the API-overhead benchmark: bare Starlette, raw asyncpg, one hand-written statement.

No JWT check, no ORM, no validation: the fastest way to answer ``GET /api/v1/bots`` with the same
body as core: one statement (the owner's state, the count and the page written as JSON by
PostgreSQL), spliced into the response as it comes. ``BENCH_FLOOR_DSN`` names the database; the
bearer token is taken to be the user id. Ten pooled connections, no reset query.
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core_service.bots.configuration import BotConfiguration


def _utc_timestamp(column: str) -> str:
    """SQL writing a timestamp as pydantic does: UTC, ``Z``, microseconds only when not zero."""
    iso = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    return f"replace({iso}, '.000000Z', 'Z')"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_DEFAULTS = BotConfiguration().model_dump(mode="json")
# A configuration stored before a field was added reads with that field's default, as in core.
_CONFIGURATION = (
    f"CASE WHEN page.configuration ?& ARRAY[{', '.join(map(_sql_text, _DEFAULTS))}]"
    " THEN page.configuration"
    f" ELSE {_sql_text(json.dumps(_DEFAULTS))}::jsonb || page.configuration END"
)

# The page of bots as the JSON of core's ``BotRead``; built from constants, no input spliced in.
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


async def _no_reset(_: asyncpg.Connection) -> None:
    """Single statements leave no session state to reset."""


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_FLOOR_DSN"], min_size=10, max_size=10, reset=_no_reset
    )
    yield
    await app.state.pool.close()


async def _list_bots(request: Request) -> Response:
    user_id = request.headers.get("authorization", "").removeprefix("Bearer ")
    async with request.app.state.pool.acquire() as connection:
        row = await connection.fetchrow(LIST_BOTS_SQL, uuid.UUID(user_id), 20, 0)
    if row is None or not row["is_active"]:
        return JSONResponse({"error": "Unauthorized", "detail": "no such user"}, 401)
    body = f'{{"items":{row["items"]},"total":{row["total"]},"limit":20,"offset":0}}'
    return Response(body, media_type="application/json")


async def _ready(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    """The floor app (a uvicorn factory)."""
    routes = [Route("/api/v1/bots", _list_bots), Route("/readyz", _ready)]
    return Starlette(routes=routes, lifespan=_lifespan)

"""The floor of the API-overhead benchmark: bare Starlette, raw asyncpg, the same SQL as core.

No JWT check, no ORM, no validation: the fastest way to answer ``GET /api/v1/bots`` with core's
own statement (``LIST_BOTS_SQL``: the owner's state, the count and the page as JSON), spliced
into the response as it comes. ``BENCH_FLOOR_DSN`` names the database; the bearer token is taken
to be the user id. The pool is configured as core's direct pool (ten connections, no reset query).
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core_service.bots.service import LIST_BOTS_SQL


async def _no_reset(_: asyncpg.Connection) -> None:
    """Like core's direct pool: single statements leave no session state to reset."""


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

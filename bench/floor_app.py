"""The floor of the API-overhead benchmark: bare Starlette, raw asyncpg, the same SQL as core.

No JWT check and no ORM: the fastest way to answer ``GET /api/v1/bots`` from the same tables.
``BENCH_FLOOR_DSN`` names the database; the bearer token is taken to be the user id.
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

USER_SQL = (
    "SELECT u.id, u.is_active, p.name FROM users u"
    " LEFT JOIN subscription_plans p ON p.id = u.subscription_plan_id WHERE u.id = $1"
)
COUNT_SQL = "SELECT count(*) FROM bots WHERE owner_id = $1"
PAGE_SQL = (
    "SELECT id, name, description, configuration, owner_id, created_at, updated_at FROM bots"
    " WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_FLOOR_DSN"], min_size=10, max_size=10
    )
    yield
    await app.state.pool.close()


async def _list_bots(request: Request) -> Response:
    user_id = request.headers.get("authorization", "").removeprefix("Bearer ")
    async with request.app.state.pool.acquire() as connection:
        user = await connection.fetchrow(USER_SQL, uuid.UUID(user_id))
        if user is None or not user["is_active"]:
            return JSONResponse({"error": "Unauthorized", "detail": "no such user"}, 401)
        total = await connection.fetchval(COUNT_SQL, user["id"])
        rows = await connection.fetch(PAGE_SQL, user["id"], 20, 0)
    items = [
        {
            **dict(row),
            "id": str(row["id"]),
            "owner_id": str(row["owner_id"]),
            "configuration": json.loads(row["configuration"]),
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
        }
        for row in rows
    ]
    return JSONResponse({"items": items, "total": total, "limit": 20, "offset": 0})


async def _ready(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    """The floor app (a uvicorn factory)."""
    routes = [Route("/api/v1/bots", _list_bots), Route("/readyz", _ready)]
    return Starlette(routes=routes, lifespan=_lifespan)

"""Sign up users through the core HTTP API, for the core tests of every feature."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from core_service.main import create_app
from testsupport.asgi import started_client

__all__ = ["SignedUpUser", "core_client_for", "plans_restored", "signup"]


@dataclass(frozen=True)
class SignedUpUser:
    """A registered, logged-in user and the header that authenticates as them."""

    id: str
    username: str
    email: str
    password: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


async def signup(
    client: httpx.AsyncClient,
    *,
    username: str | None = None,
    password: str = "correct horse battery",  # noqa: S107 - a test password
    engine: AsyncEngine | None = None,
    staff: bool = False,
) -> SignedUpUser:
    """Register and log in via HTTP; ``staff=True`` (with ``engine``) makes the user staff first."""
    username = username or f"user_{uuid.uuid4().hex[:12]}"
    email = f"{username.lower()}@example.com"
    registered = await client.post(
        "/api/v1/auth/register",
        json={"username": username, "email": email, "password": password},
    )
    if registered.status_code != 201:
        raise AssertionError(f"register answered {registered.status_code}: {registered.text}")
    user_id = str(registered.json()["id"])
    if staff:
        if engine is None:
            raise ValueError("staff=True needs the engine to promote the user")
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE users SET is_staff = true WHERE id = :id"), {"id": uuid.UUID(user_id)}
            )
    tokens = await client.post(
        "/api/v1/auth/login", data={"username": username, "password": password}
    )
    if tokens.status_code != 200:
        raise AssertionError(f"login answered {tokens.status_code}: {tokens.text}")
    body = tokens.json()
    return SignedUpUser(
        id=user_id,
        username=username,
        email=email,
        password=password,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )


@asynccontextmanager
async def core_client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A started core app built with ``settings`` and a client talking to it in-process."""
    async with started_client(create_app(settings), base_url="http://core.test") as client:
        yield client


_PLAN_COLUMNS = (
    "price",
    "description",
    "stripe_price_id",
    "max_bots",
    "max_documents",
    "max_messages_per_month",
    "max_upload_mb",
    "max_storage_mb",
)


@asynccontextmanager
async def plans_restored(engine: AsyncEngine) -> AsyncIterator[None]:
    """Put the seeded plans back as they were after a test that edits them."""
    columns = ", ".join(_PLAN_COLUMNS)
    async with engine.connect() as connection:
        result = await connection.execute(
            text(f"SELECT id, features, {columns} FROM subscription_plans")  # noqa: S608
        )
        rows = [dict(row) for row in result.mappings()]
    try:
        yield
    finally:
        assignments = ", ".join(f"{name} = :{name}" for name in _PLAN_COLUMNS)
        statement = text(
            f"UPDATE subscription_plans SET {assignments}, features = CAST(:features AS jsonb) "  # noqa: S608
            "WHERE id = :id"
        )
        async with engine.begin() as connection:
            for row in rows:
                await connection.execute(
                    statement, {**row, "features": json.dumps(row["features"])}
                )

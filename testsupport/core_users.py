"""Sign up users through the core HTTP API, for the core tests of every feature."""

import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SignedUpUser", "signup"]


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

"""Statements the driver runs (``DriverStatement``) agree with the ORM path built from the same
rules, and a statement whose types need SQLAlchemy's conversion is refused when compiled."""

import uuid

import httpx
import pytest
from sqlalchemy import Numeric, bindparam, cast, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.bots.models import Bot
from core_service.database import DriverStatement
from testsupport.core_content import create_bot
from testsupport.core_users import signup


def test_a_statement_whose_values_need_conversion_is_refused_when_compiled() -> None:
    json_parameter = select(Bot.id).where(Bot.configuration == bindparam("c", type_=JSONB))
    with pytest.raises(TypeError, match="parameter 'c'"):
        DriverStatement.compile(json_parameter)
    float_column = select(cast(Bot.id, Numeric(asdecimal=False)).label("n"))
    with pytest.raises(TypeError, match="column 'n'"):
        DriverStatement.compile(float_column)


async def _statuses(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, int]:
    """(the driver's active-user check, the ORM's) for one token."""
    by_driver = await client.get("/api/v1/bots", headers=headers)
    by_orm = await client.get("/api/v1/auth/me", headers=headers)
    return by_driver.status_code, by_orm.status_code


async def test_the_active_user_rule_gives_the_same_answer_on_both_paths(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(core_client)
    assert await _statuses(core_client, user.headers) == (200, 200)

    async def set_user(assignment: str) -> None:
        async with core_db.begin() as connection:
            await connection.execute(
                text(f"UPDATE users SET {assignment} WHERE id = :id"),  # noqa: S608 - fixed text
                {"id": uuid.UUID(user.id)},
            )

    await set_user("is_active = false")
    assert await _statuses(core_client, user.headers) == (401, 401)
    await set_user("is_active = true, token_epoch = token_epoch + 1")  # a token of an old epoch
    assert await _statuses(core_client, user.headers) == (401, 401)
    async with core_db.begin() as connection:
        await connection.execute(
            text("DELETE FROM users WHERE id = :id"), {"id": uuid.UUID(user.id)}
        )
    assert await _statuses(core_client, user.headers) == (401, 401)


async def test_the_bot_list_shows_each_bot_as_the_orm_path_does(
    core_client: httpx.AsyncClient,
) -> None:
    user, other = await signup(core_client), await signup(core_client)
    mine = await create_bot(core_client, user)
    await create_bot(core_client, other)

    listed = await core_client.get("/api/v1/bots", headers=user.headers)
    alone = await core_client.get(f"/api/v1/bots/{mine['id']}", headers=user.headers)

    assert listed.status_code == alone.status_code == 200
    assert listed.json()["items"] == [alone.json()]
    assert listed.json()["total"] == 1
    past_the_end = await core_client.get("/api/v1/bots?offset=5", headers=user.headers)
    assert past_the_end.json() == {"items": [], "total": 1, "limit": 20, "offset": 5}

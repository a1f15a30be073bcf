"""Statements the driver runs (``DriverStatement``) agree with the ORM path built from the same
rules, and a statement whose types need SQLAlchemy's conversion is refused when compiled."""

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Numeric, bindparam, cast, event, select, text
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


async def test_a_request_that_reads_only_by_the_driver_opens_no_session_connection(
    core_app: FastAPI, core_client: httpx.AsyncClient
) -> None:
    # A session's connection (its transaction, its checkout and return) costs several times
    # the driver's own statement: a list the driver answers whole must not open one.
    user = await signup(core_client)
    await create_bot(core_client, user)
    opened: list[object] = []

    def connected(connection: object) -> None:
        opened.append(connection)

    engine: AsyncEngine = core_app.state.engine
    event.listen(engine.sync_engine, "engine_connect", connected)
    try:
        listed = await core_client.get("/api/v1/bots", headers=user.headers)
        me = await core_client.get("/api/v1/auth/me", headers=user.headers)  # the ORM's path
    finally:
        event.remove(engine.sync_engine, "engine_connect", connected)
    assert (listed.status_code, listed.json()["total"], me.status_code) == (200, 1, 200)
    assert len(opened) == 1  # the ORM's read alone


async def test_a_connection_lost_under_a_driver_read_answers_503_and_is_not_reused(
    core_app: FastAPI, core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(core_client)
    assert (await core_client.get("/api/v1/bots", headers=user.headers)).status_code == 200
    settings = core_app.state.settings
    async with core_db.connect() as connection:
        # What a database restart or a proxy's idle timeout does to a pooled connection.
        ended = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": settings.service_name},
        )
    assert ended == 1  # the one pooled connection of this sequential client

    lost = await core_client.get("/api/v1/bots", headers=user.headers)
    again = await core_client.get("/api/v1/bots", headers=user.headers)

    assert (lost.status_code, lost.json()["error"]) == (503, "DatabaseUnavailable")
    assert again.status_code == 200

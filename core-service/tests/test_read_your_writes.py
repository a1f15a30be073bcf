"""A 2xx means committed: every write is visible to the next request at once.

Real core process (uvicorn as the images run it), real sockets, and a NEW connection for every
request, with no sleeps: a commit that ran after the response was sent shows here as a stale read,
which an in-process ASGI client cannot see (it waits for the whole app before it returns).
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import ServiceProcess, running_uvicorn
from testsupport.stub_agent import running_slow_agent

ROUNDS = 25

pytestmark = pytest.mark.slow


@pytest.fixture
async def core(core_database_url: str, core_db: AsyncEngine) -> AsyncIterator[ServiceProcess]:
    """A real core process whose agent is a loopback stub."""
    env = {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        # Fifty sign-ins of one account from one address: the login limits are not the subject.
        "CORE_RATE_LIMIT_LOGIN_PER_ADDRESS": "100000",
        "CORE_RATE_LIMIT_LOGIN_PER_ACCOUNT_ALL_ADDRESSES": "100000",
    }
    with running_slow_agent(tokens=["ok"]) as agent:
        with running_uvicorn(
            "core_service.main:create_app", env | {"CORE_AGENT_URL": agent.url}
        ) as core:
            yield core


def _fresh_connections(base_url: str) -> httpx.AsyncClient:
    """A client that opens a new connection for every request, as separate clients would."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits)


async def _count_stale(
    rounds: int, write: Callable[[], Awaitable[Any]], read: Callable[[Any], Awaitable[bool]]
) -> int:
    """How many of ``rounds`` writes the very next request did not see."""
    stale = 0
    for _ in range(rounds):
        if not await read(await write()):
            stale += 1
    return stale


async def _user(client: httpx.AsyncClient) -> SignedUpUser:
    return await signup(client, username=f"ryw_{uuid.uuid4().hex[:12]}")


async def test_a_created_bot_is_found_at_once(core: ServiceProcess) -> None:
    async with _fresh_connections(core.base_url) as client:
        user = await _user(client)

        async def write() -> str:
            created = await client.post("/api/v1/bots", json={"name": "b"}, headers=user.headers)
            assert created.status_code == 201, created.text
            return str(created.json()["id"])

        async def read(bot_id: str) -> bool:
            found = await client.get(f"/api/v1/bots/{bot_id}", headers=user.headers)
            # Deleted after the check: the free plan holds three bots.
            await client.delete(f"/api/v1/bots/{bot_id}", headers=user.headers)
            return found.status_code == 200

        assert await _count_stale(ROUNDS, write, read) == 0


async def test_a_deleted_bot_is_gone_at_once(core: ServiceProcess) -> None:
    async with _fresh_connections(core.base_url) as client:
        user = await _user(client)

        async def write() -> str:
            created = await client.post("/api/v1/bots", json={"name": "b"}, headers=user.headers)
            bot_id = str(created.json()["id"])
            deleted = await client.delete(f"/api/v1/bots/{bot_id}", headers=user.headers)
            assert deleted.status_code == 204, deleted.text
            return bot_id

        async def read(bot_id: str) -> bool:
            found = await client.get(f"/api/v1/bots/{bot_id}", headers=user.headers)
            return found.status_code == 404

        assert await _count_stale(ROUNDS, write, read) == 0


async def test_a_new_conversation_takes_a_message_at_once(core: ServiceProcess) -> None:
    async with _fresh_connections(core.base_url) as client:
        user = await _user(client)
        bot = await client.post("/api/v1/bots", json={"name": "b"}, headers=user.headers)
        bot_id = bot.json()["id"]

        async def write() -> str:
            created = await client.post(
                f"/api/v1/bots/{bot_id}/conversations", json={}, headers=user.headers
            )
            assert created.status_code == 201, created.text
            return str(created.json()["id"])

        async def read(conversation_id: str) -> bool:
            sent = await client.post(
                f"/api/v1/conversations/{conversation_id}/messages",
                json={"content": "hello"},
                headers=user.headers,
            )
            return sent.status_code == 200

        assert await _count_stale(ROUNDS, write, read) == 0


async def test_a_text_document_is_found_at_once(core: ServiceProcess) -> None:
    async with _fresh_connections(core.base_url) as client:
        user = await _user(client)
        bot = await client.post("/api/v1/bots", json={"name": "b"}, headers=user.headers)
        bot_id = bot.json()["id"]
        counter = iter(range(1_000))

        async def write() -> str:
            created = await client.post(
                f"/api/v1/bots/{bot_id}/documents/text",
                json={"name": "notes", "content": f"Note number {next(counter)} about tides."},
                headers=user.headers,
            )
            assert created.status_code == 202, created.text
            return str(created.json()["id"])

        async def read(document_id: str) -> bool:
            found = await client.get(
                f"/api/v1/bots/{bot_id}/documents/{document_id}", headers=user.headers
            )
            return found.status_code == 200

        assert await _count_stale(ROUNDS, write, read) == 0


async def test_a_login_refreshes_at_once_and_a_logout_refuses_at_once(
    core: ServiceProcess,
) -> None:
    async with _fresh_connections(core.base_url) as client:
        user = await _user(client)

        async def login() -> str:
            tokens = await client.post(
                "/api/v1/auth/login", data={"username": user.username, "password": user.password}
            )
            assert tokens.status_code == 200, tokens.text
            return str(tokens.json()["refresh_token"])

        async def refreshes(refresh_token: str) -> bool:
            answer = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
            )
            return answer.status_code == 200

        async def logout() -> str:
            refresh_token = await login()
            out = await client.post("/api/v1/auth/logout", json={"refresh_token": refresh_token})
            assert out.status_code == 204, out.text
            return refresh_token

        async def refused(refresh_token: str) -> bool:
            return not await refreshes(refresh_token)

        assert await _count_stale(ROUNDS, login, refreshes) == 0
        assert await _count_stale(ROUNDS, logout, refused) == 0


async def test_a_profile_change_is_read_back_at_once(core: ServiceProcess) -> None:
    async with _fresh_connections(core.base_url) as client:
        user = await _user(client)
        names = iter(f"Name{i}" for i in range(1_000))

        async def write() -> str:
            name = next(names)
            changed = await client.patch(
                "/api/v1/auth/me", json={"first_name": name}, headers=user.headers
            )
            assert changed.status_code == 200, changed.text
            return name

        async def read(name: str) -> bool:
            me = await client.get("/api/v1/auth/me", headers=user.headers)
            return bool(me.json()["first_name"] == name)

        assert await _count_stale(ROUNDS, write, read) == 0


_REFUSE_AT_COMMIT = (
    """
    CREATE OR REPLACE FUNCTION refuse_marked_bot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.name = 'refused at commit' THEN
            RAISE EXCEPTION 'refused at commit';
        END IF;
        RETURN NEW;
    END $$
    """,
    "DROP TRIGGER IF EXISTS refuse_marked_bot ON bots",
    """
    CREATE CONSTRAINT TRIGGER refuse_marked_bot AFTER INSERT ON bots
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_marked_bot()
    """,
)


async def test_a_commit_that_fails_is_never_answered_with_success(
    core: ServiceProcess, core_db: AsyncEngine
) -> None:
    """A deferred constraint runs at COMMIT: the failure must reach the client, not a 201."""
    async with core_db.begin() as connection:
        for statement in _REFUSE_AT_COMMIT:
            await connection.exec_driver_sql(statement)
    try:
        async with _fresh_connections(core.base_url) as client:
            user = await _user(client)
            created = await client.post(
                "/api/v1/bots", json={"name": "refused at commit"}, headers=user.headers
            )
            listed = await client.get("/api/v1/bots", headers=user.headers)
    finally:
        async with core_db.begin() as connection:
            await connection.exec_driver_sql("DROP TRIGGER refuse_marked_bot ON bots")
    assert created.status_code >= 500, created.text
    assert created.json()["error"]
    assert listed.json()["total"] == 0

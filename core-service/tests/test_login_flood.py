"""A login flood against a real core process: the owner still signs in and reads their bots.

60 clients send a wrong password at once from one address, half against the owner's account and half
against names that do not exist, while the owner (from their own address) logs in by email
and lists their bots. Hashing holds no database connection and never runs more at once than
the CPUs; what does not fit is answered at once (429 for the flooding address), so the
owner's requests stay fast. Argon2 runs at OWASP's minimum cost, so that each hash is real
work. The timings and the process's memory are printed for the record (``pytest -s``).
"""

import asyncio
import time
from collections import Counter

import httpx
import psutil
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_users import signup
from testsupport.service_process import running_uvicorn

pytestmark = pytest.mark.slow

ATTACKERS = 60
ATTACK_ADDRESS = "203.0.113.66"
OWNER_ADDRESS = "198.51.100.7"


def _core_env(database_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": "http://127.0.0.1:9",
        "CORE_ARGON2_MEMORY_KIB": "19456",
        "CORE_ARGON2_TIME_COST": "2",
        "CORE_ARGON2_PARALLELISM": "1",
    }


async def _wrong_login(client: httpx.AsyncClient, login: str) -> int:
    answer = await client.post(
        "/api/v1/auth/login",
        data={"username": login, "password": "not the password"},
        headers={"X-Forwarded-For": ATTACK_ADDRESS},
    )
    return answer.status_code


async def _owner_session(
    client: httpx.AsyncClient, email: str, password: str, delay_s: float = 0.0
) -> list[float]:
    """The owner's login and bot list: each call's seconds."""
    await asyncio.sleep(delay_s)
    own = {"X-Forwarded-For": OWNER_ADDRESS}
    started = time.monotonic()
    login = await client.post(
        "/api/v1/auth/login", data={"username": email, "password": password}, headers=own
    )
    logged_in = time.monotonic()
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    bots = await client.get("/api/v1/bots", headers=own | bearer)
    assert bots.status_code == 200, bots.text
    return [logged_in - started, time.monotonic() - logged_in]


async def test_a_login_flood_leaves_the_owner_fast(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    with running_uvicorn("core_service.main:create_app", _core_env(core_database_url)) as core:
        process = psutil.Process(core.process.pid)
        limits = httpx.Limits(max_connections=ATTACKERS + 5)
        async with (
            httpx.AsyncClient(base_url=core.base_url, timeout=30) as owner_client,
            httpx.AsyncClient(base_url=core.base_url, timeout=30, limits=limits) as attacker,
        ):
            owner = await signup(owner_client)
            quiet_timings = await _owner_session(owner_client, owner.email, owner.password)
            rss_before = process.memory_info().rss
            targets = [owner.username if n % 2 else f"ghost{n}" for n in range(ATTACKERS)]
            # Started just after the burst, so that it arrives first.
            owner_login = asyncio.ensure_future(
                _owner_session(owner_client, owner.email, owner.password, delay_s=0.05)
            )
            flood = await asyncio.gather(*(_wrong_login(attacker, t) for t in targets))
            owner_timings = await owner_login
            rss_after = process.memory_info().rss
    statuses = Counter(flood)
    print(  # noqa: T201 - the figures this test exists to show
        f"\nwithout a flood: owner login {quiet_timings[0]:.3f} s, "
        f"GET /bots {quiet_timings[1]:.3f} s"
        f"\nflood: {dict(statuses)}; owner login {owner_timings[0]:.3f} s, "
        f"GET /bots {owner_timings[1]:.3f} s; core RSS {rss_before / 2**20:.0f} MiB before, "
        f"{rss_after / 2**20:.0f} MiB after"
    )
    assert max(owner_timings) < 1.0
    # One address holds one hashing place: its burst costs a hash or two, not 60, and it is
    # told 429 at once instead of exhausting the database pool (503 for everyone).
    assert statuses[401] <= 5
    assert set(statuses) <= {401, 429}

"""``PATCH /auth/me``: the email and password need the current password; unknown fields are
refused; reactivating an account does not revive the tokens it had."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_users import signup
from testsupport.service_process import running_uvicorn

ME = "/api/v1/auth/me"
ADMIN = "/api/v1/admin"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"password": "a whole new passphrase"}, id="password"),
        pytest.param({"email": "elsewhere@example.org"}, id="email"),
    ],
)
async def test_email_and_password_changes_need_the_current_password(
    core_client: httpx.AsyncClient, change: dict[str, str]
) -> None:
    user = await signup(core_client)
    missing = await core_client.patch(ME, headers=user.headers, json=change)
    wrong = await core_client.patch(
        ME, headers=user.headers, json=change | {"current_password": "not my password"}
    )
    after = await core_client.get(ME, headers=user.headers)
    right = await core_client.patch(
        ME, headers=user.headers, json=change | {"current_password": user.password}
    )

    assert (missing.status_code, missing.json()["error"]) == (403, "WrongCurrentPassword")
    assert "current_password" in missing.json()["detail"]
    assert (wrong.status_code, wrong.json()["error"]) == (403, "WrongCurrentPassword")
    assert after.json()["email"] == user.email  # nothing changed
    assert right.status_code == 200, right.text


async def test_names_change_without_the_current_password(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    same_email = await core_client.patch(
        ME, headers=user.headers, json={"first_name": "Ann", "email": user.email.upper()}
    )
    assert same_email.status_code == 200
    assert same_email.json()["first_name"] == "Ann"


async def test_unknown_fields_are_refused(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    answer = await core_client.patch(ME, headers=user.headers, json={"frist_name": "Typo"})
    assert answer.status_code == 422
    assert answer.json()["error"] == "ValidationError"
    assert "frist_name" in answer.text


async def test_reactivation_does_not_revive_earlier_tokens(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    user = await signup(core_client)
    for action in ("deactivate", "activate"):
        done = await core_client.post(f"{ADMIN}/users/{user.id}/{action}", headers=staff.headers)
        assert done.status_code == 200, done.text

    old_token = await core_client.get(ME, headers=user.headers)
    again = await core_client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    fresh = {"Authorization": f"Bearer {again.json()['access_token']}"}

    assert old_token.status_code == 401
    assert (await core_client.get(ME, headers=fresh)).status_code == 200


@pytest.mark.slow
async def test_over_a_real_server_a_password_change_ends_earlier_tokens_at_once(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    env = {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_database_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }
    with running_uvicorn("core_service.main:create_app", env) as core:
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
            user = await signup(client)
            other_device = await signup_again(client, user.username, user.password)
            assert (await client.get("/api/v1/bots", headers=other_device)).status_code == 200
            changed = await client.patch(
                ME,
                headers=user.headers,
                json={"password": "a whole new passphrase", "current_password": user.password},
            )
        # New connections, as another client acting on the 200 would open.
        async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as fresh:
            statuses = [
                (await fresh.get(path, headers=headers)).status_code
                for path in (ME, "/api/v1/bots")
                for headers in (user.headers, other_device)
            ]
    assert changed.status_code == 200, changed.text
    assert statuses == [401, 401, 401, 401]


async def signup_again(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """A second login of the same account (another device): its Authorization header."""
    tokens = await client.post(
        "/api/v1/auth/login", data={"username": username, "password": password}
    )
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}

"""Register, login, me and the password policy, through HTTP."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_users import signup

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"


async def test_register_answers_201_with_the_user_on_the_free_plan(
    core_client: httpx.AsyncClient,
) -> None:
    response = await core_client.post(
        REGISTER,
        json={
            "username": "Alice",
            "email": "alice@example.com",
            "password": "a long secret phrase",
            "first_name": "Alice",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "Alice"
    assert body["first_name"] == "Alice"
    assert body["is_staff"] is False
    assert body["is_active"] is True
    assert body["subscription_status"] == "active"
    assert body["subscription_plan"]["name"] == "free"
    assert body["subscription_plan"]["limits"]["max_bots"] >= 3
    assert "hashed_password" not in response.text
    assert "password" not in body


@pytest.mark.parametrize(
    ("username", "email", "code"),
    [
        ("ALICE", "other@example.com", "UsernameTaken"),
        ("bob", "Alice@Example.COM", "EmailTaken"),
    ],
)
async def test_duplicate_username_or_email_is_409_ignoring_case(
    core_client: httpx.AsyncClient, username: str, email: str, code: str
) -> None:
    await signup(core_client, username="alice")
    response = await core_client.post(
        REGISTER, json={"username": username, "email": email, "password": "another secret"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == code


@pytest.mark.parametrize(
    "password",
    ["short", "Carol_Smith", "carol_smith@example.com"],
)
async def test_the_password_policy_is_enforced(
    core_client: httpx.AsyncClient, password: str
) -> None:
    response = await core_client.post(
        REGISTER,
        json={"username": "carol_smith", "email": "carol_smith@example.com", "password": password},
    )
    assert response.status_code == 422
    assert response.json()["error"] in {"ValidationError", "WeakPassword"}


async def test_login_with_username_or_email_returns_a_token_pair(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    for login in (user.username.upper(), user.email):
        response = await core_client.post(
            LOGIN, data={"username": login, "password": user.password}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 900
        assert body["access_token"]
        assert body["refresh_token"]


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    wrong = await core_client.post(LOGIN, data={"username": user.username, "password": "nope!!!!"})
    unknown = await core_client.post(LOGIN, data={"username": "ghost", "password": "nope!!!!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "InvalidCredentials"
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_me_returns_the_caller_and_never_the_hash(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    response = await core_client.get(ME, headers=user.headers)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert "hashed_password" not in response.text
    assert "$argon2" not in response.text


async def test_me_without_a_token_is_401(core_client: httpx.AsyncClient) -> None:
    response = await core_client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidToken"


async def test_staff_signup_sets_is_staff(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    response = await core_client.get(ME, headers=staff.headers)
    assert response.json()["is_staff"] is True
    async with core_db.connect() as connection:
        stored = await connection.scalar(
            text("SELECT hashed_password FROM users WHERE username = :u"), {"u": staff.username}
        )
    assert str(stored).startswith("$argon2id$")


async def test_no_schema_in_the_openapi_document_has_a_password_hash(
    core_client: httpx.AsyncClient,
) -> None:
    document = (await core_client.get("/openapi.json")).text
    assert "hashed_password" not in document
    assert "/api/v1/auth/login" in document

"""Access and refresh tokens through HTTP: rotation, reuse, logout, and refused JWTs."""

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from core_service.config import Settings
from testsupport.core_users import SignedUpUser, signup

ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def _claims(settings: Settings, user_id: str, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "epoch": 0,
    }
    claims.update(
        {
            key: now + value if isinstance(value, timedelta) else value
            for key, value in overrides.items()
        }
    )
    return {key: value for key, value in claims.items() if value is not None}


def _secret(settings: Settings) -> str:
    return settings.jwt_secret.get_secret_value()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _unsigned_token(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, default=_epoch).encode())
    return f"{header}.{body}."


async def _me_status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 401:
        assert response.json()["error"] == "InvalidToken"
    return response.status_code


async def test_a_well_formed_token_is_accepted(
    core_client: httpx.AsyncClient, core_settings: Settings
) -> None:
    user = await signup(core_client)
    token = jwt.encode(_claims(core_settings, user.id), _secret(core_settings), "HS256")
    assert await _me_status(core_client, token) == 200


@pytest.mark.parametrize(
    "overrides",
    [
        # Times as offsets from when the token is made: a slow suite reaches a test long after
        # its parameters were collected.
        pytest.param({"exp": timedelta(minutes=-5)}, id="expired"),
        pytest.param({"nbf": timedelta(minutes=5)}, id="not-yet-valid"),
        pytest.param({"aud": "someone-else"}, id="wrong-audience"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
        pytest.param({"jti": None}, id="no-jti"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"sub": "not-a-uuid"}, id="bad-subject"),
        pytest.param({"epoch": None}, id="no-epoch"),
        pytest.param({"epoch": "0"}, id="epoch-not-an-integer"),
        pytest.param({"epoch": -1}, id="older-epoch"),
        pytest.param({"epoch": 1}, id="unknown-epoch"),
    ],
)
async def test_tokens_with_bad_claims_are_401(
    core_client: httpx.AsyncClient, core_settings: Settings, overrides: dict[str, Any]
) -> None:
    user = await signup(core_client)
    claims = _claims(core_settings, user.id, **overrides)
    token = jwt.encode(claims, _secret(core_settings), "HS256")
    assert await _me_status(core_client, token) == 401


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_tampered_alg_none_and_other_algorithm_tokens_are_401(
    core_client: httpx.AsyncClient, core_settings: Settings
) -> None:
    user = await signup(core_client)
    victim = await signup(core_client)
    header, _, signature = user.access_token.split(".")
    forged_body = _b64(json.dumps(_claims(core_settings, victim.id), default=_epoch).encode())
    tampered = f"{header}.{forged_body}.{signature}"
    unsigned = _unsigned_token(_claims(core_settings, user.id))
    hs512 = jwt.encode(_claims(core_settings, user.id), _secret(core_settings), "HS512")
    wrong_key = jwt.encode(_claims(core_settings, user.id), "x" * 48, "HS256")
    for token in (tampered, unsigned, hs512, wrong_key, "garbage", user.access_token + "x"):
        assert await _me_status(core_client, token) == 401, token


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_rotates_the_pair(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    response = await _refresh(core_client, user.refresh_token)
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != user.refresh_token
    assert await _me_status(core_client, pair["access_token"]) == 200
    assert (await _refresh(core_client, pair["refresh_token"])).status_code == 200


async def test_reusing_a_refresh_token_revokes_the_whole_family(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    other_login = await _login_again(core_client, user)
    rotated = (await _refresh(core_client, user.refresh_token)).json()["refresh_token"]
    reused = await _refresh(core_client, user.refresh_token)
    assert reused.status_code == 401
    assert reused.json()["error"] == "InvalidRefreshToken"
    assert (await _refresh(core_client, rotated)).status_code == 401
    # Another login of the same user is another family and keeps working.
    assert (await _refresh(core_client, other_login)).status_code == 200


async def _login_again(client: httpx.AsyncClient, user: SignedUpUser) -> str:
    response = await client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    return str(response.json()["refresh_token"])


async def test_logout_revokes_the_refresh_token(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    response = await core_client.post(LOGOUT, json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    assert (await _refresh(core_client, user.refresh_token)).status_code == 401
    unknown = await core_client.post(LOGOUT, json={"refresh_token": "never-issued"})
    assert unknown.status_code == 204


async def test_unknown_and_malformed_refresh_tokens_are_401_or_422(
    core_client: httpx.AsyncClient,
) -> None:
    assert (await _refresh(core_client, "never-issued")).status_code == 401
    empty = await core_client.post(REFRESH, json={"refresh_token": ""})
    assert empty.status_code == 422
    assert (await core_client.post(REFRESH, json={})).status_code == 422


async def test_changing_the_password_ends_other_logins(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    other_login = (
        await core_client.post(
            "/api/v1/auth/login", data={"username": user.username, "password": user.password}
        )
    ).json()
    response = await core_client.patch(
        ME,
        headers=user.headers,
        json={
            "password": "a brand new passphrase",
            "first_name": "Zoe",
            "current_password": user.password,
        },
    )
    assert response.status_code == 200
    assert response.json()["first_name"] == "Zoe"
    # Every access token issued before the change is refused, this request's own included.
    assert await _me_status(core_client, user.access_token) == 401
    assert await _me_status(core_client, other_login["access_token"]) == 401
    # The other login is over; the one that changed the password renews its access token.
    assert (await _refresh(core_client, other_login["refresh_token"])).status_code == 401
    renewed = await _refresh(core_client, user.refresh_token)
    assert renewed.status_code == 200
    assert await _me_status(core_client, renewed.json()["access_token"]) == 200
    old = await core_client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    assert old.status_code == 401
    new = await core_client.post(
        "/api/v1/auth/login",
        data={"username": user.username, "password": "a brand new passphrase"},
    )
    assert new.status_code == 200


async def test_update_me_refuses_a_taken_email_and_a_weak_password(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    other = await signup(core_client)
    current = {"current_password": user.password}
    taken = await core_client.patch(
        ME, headers=user.headers, json={"email": other.email.upper()} | current
    )
    assert taken.status_code == 409
    assert taken.json()["error"] == "EmailTaken"
    weak = await core_client.patch(
        ME, headers=user.headers, json={"password": user.username} | current
    )
    assert weak.status_code == 422
    moved = await core_client.patch(
        ME, headers=user.headers, json={"email": "new@example.org"} | current
    )
    assert moved.json()["email"] == "new@example.org"


async def test_two_concurrent_refreshes_with_one_token_leave_no_live_family(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    first, second = await asyncio.gather(
        _refresh(core_client, user.refresh_token), _refresh(core_client, user.refresh_token)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 401]
    winner = first if first.status_code == 200 else second
    # The loser's replay revoked the family, the winner's new token included.
    assert (await _refresh(core_client, winner.json()["refresh_token"])).status_code == 401

"""Every authenticated route applies the whole active-user rule: a token that is still valid
but whose user was deactivated, or that was issued before a password change, gets 401."""

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.auth.dependencies import get_current_user, get_current_user_id
from testsupport.core_users import SignedUpUser, signup

BEARER_SCHEME = "OAuth2PasswordBearer"


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    # FastAPI 0.165 keeps included routers as wrappers; their routes are the original router's.
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found.extend(_api_routes(included.routes))
    return found


def _calls(dependant: Dependant) -> list[Any]:
    return [call for sub in dependant.dependencies for call in (sub.call, *_calls(sub))]


def _authenticated_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) whose OpenAPI operation asks for the bearer token."""
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if any(BEARER_SCHEME in need for need in operation.get("security", []))
    )


def _concrete(path: str) -> str:
    """The path with every parameter filled in (ids that exist nowhere)."""
    parameters = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    return path.format(**{name: str(uuid.uuid4()) for name in parameters})


async def _answers(
    client: httpx.AsyncClient, app: FastAPI, user: SignedUpUser
) -> dict[tuple[str, str], tuple[int, str]]:
    answers = {}
    for method, path in _authenticated_operations(app):
        body: dict[str, object] | None = None if method in {"GET", "DELETE"} else {}
        response = await client.request(method, _concrete(path), json=body, headers=user.headers)
        answers[method, path] = (response.status_code, response.json().get("error", ""))
    return answers


def test_every_route_that_reads_the_bearer_token_checks_the_user(core_app: FastAPI) -> None:
    bearer_routes = [
        route
        for route in _api_routes(core_app.routes)
        if any(
            getattr(call, "scheme_name", None) == BEARER_SCHEME for call in _calls(route.dependant)
        )
    ]
    checks = {get_current_user, get_current_user_id}
    unchecked = [r.path for r in bearer_routes if not checks & set(_calls(r.dependant))]
    assert len(bearer_routes) >= 20
    assert unchecked == []


async def test_a_deactivated_users_valid_token_gets_401_on_every_route(
    core_client: httpx.AsyncClient, core_app: FastAPI, core_db: AsyncEngine
) -> None:
    user = await signup(core_client)
    assert (await core_client.get("/api/v1/bots", headers=user.headers)).status_code == 200
    async with core_db.begin() as connection:
        await connection.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"), {"id": uuid.UUID(user.id)}
        )

    answers = await _answers(core_client, core_app, user)

    assert len(answers) >= 20
    assert {key: a for key, a in answers.items() if a != (401, "InvalidToken")} == {}


async def test_a_token_from_before_a_password_change_gets_401_on_every_route(
    core_client: httpx.AsyncClient, core_app: FastAPI
) -> None:
    user = await signup(core_client)
    changed = await core_client.patch(
        "/api/v1/auth/me",
        headers=user.headers,
        json={"password": "a different passphrase", "current_password": user.password},
    )
    assert changed.status_code == 200, changed.text

    answers = await _answers(core_client, core_app, user)

    assert len(answers) >= 20
    assert {key: a for key, a in answers.items() if a != (401, "InvalidToken")} == {}

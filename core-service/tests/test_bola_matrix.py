"""Staff routes refuse normal users; fields a user must not set are refused or ignored."""

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.auth.dependencies import get_staff_user
from testsupport.core_content import create_bot
from testsupport.core_users import signup

PRIVILEGED_USER_FIELDS: dict[str, Any] = {
    "is_staff": True,
    "is_active": False,
    "subscription_plan_id": 4,
    "subscription_plan": "enterprise",
    "subscription_status": "past_due",
}


def _needs_staff(dependant: Dependant) -> bool:
    return any(sub.call is get_staff_user or _needs_staff(sub) for sub in dependant.dependencies)


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    # FastAPI 0.165 keeps included routers as wrappers; their routes are the original router's.
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found.extend(_api_routes(included.routes))
    return found


def _staff_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation whose dependencies include the staff check, as the OpenAPI lists it."""
    guarded = {
        (method.lower(), route.name, route.path)
        for route in _api_routes(app.routes)
        if _needs_staff(route.dependant)
        for method in route.methods or ()
    }
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        for guarded_method, name, local_path in guarded
        if method == guarded_method
        and path.endswith(local_path)
        and operation["operationId"].startswith(f"{name}_")
    }


async def _stored_user(engine: AsyncEngine, user_id: str) -> dict[str, Any]:
    async with engine.connect() as connection:
        row = await connection.execute(
            text(
                "SELECT u.is_staff, u.is_active, u.subscription_status, p.name AS plan "
                "FROM users u LEFT JOIN subscription_plans p ON p.id = u.subscription_plan_id "
                "WHERE u.id = :id"
            ),
            {"id": uuid.UUID(user_id)},
        )
        return dict(row.mappings().one())


async def test_a_normal_user_gets_403_on_every_staff_route(
    core_client: httpx.AsyncClient, core_app: FastAPI
) -> None:
    user = await signup(core_client)
    target = await signup(core_client)
    staff_routes = _staff_routes(core_app)
    admin_paths = {
        (method.upper(), path)
        for path, operations in core_app.openapi()["paths"].items()
        if path.startswith("/api/v1/admin/")
        for method in operations
    }
    bodies = {"PUT": {"plan": "enterprise"}, "PATCH": {"max_bots": 1_000}}

    answers = {}
    for method, path in sorted(staff_routes):
        url = path.format(user_id=target.id, name="free", job_id=uuid.uuid4())
        answers[method, path] = await core_client.request(
            method, url, json=bodies.get(method), headers=user.headers
        )
    target_after = await core_client.get("/api/v1/auth/me", headers=target.headers)
    free_plan = await core_client.get("/api/v1/plans")

    assert staff_routes == admin_paths  # the staff check guards exactly the admin API
    assert len(staff_routes) >= 5
    wrong = {key: (a.status_code, a.text) for key, a in answers.items() if a.status_code != 403}
    assert wrong == {}
    assert {a.json()["error"] for a in answers.values()} == {"Forbidden"}
    assert target_after.status_code == 200  # not deactivated
    assert target_after.json()["subscription_plan"]["name"] == "free"
    assert {p["name"]: p["limits"]["max_bots"] for p in free_plan.json()}["free"] != 1_000


async def test_register_ignores_privileged_fields(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    body = {"username": "mallory", "email": "mallory@example.com", "password": "long enough pw"}
    answer = await core_client.post("/api/v1/auth/register", json=body | PRIVILEGED_USER_FIELDS)

    if answer.status_code != 422:
        assert answer.status_code == 201, answer.text
        stored = await _stored_user(core_db, answer.json()["id"])
        assert stored == {
            "is_staff": False,
            "is_active": True,
            "subscription_status": "active",
            "plan": "free",
        }


async def test_patch_me_ignores_privileged_fields(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(core_client)
    before = await _stored_user(core_db, user.id)

    answer = await core_client.patch(
        "/api/v1/auth/me", json={"first_name": "Mal"} | PRIVILEGED_USER_FIELDS, headers=user.headers
    )
    after = await _stored_user(core_db, user.id)
    me = await core_client.get("/api/v1/auth/me", headers=user.headers)

    assert answer.status_code in {200, 422}, answer.text
    assert before["is_staff"] is False
    assert after == before
    assert me.status_code == 200  # still active: is_active=false was not applied


async def test_bot_owner_cannot_be_assigned(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    owner = await signup(core_client)
    victim = await signup(core_client)
    bot = await create_bot(core_client, owner)

    created = await core_client.post(
        "/api/v1/bots", json={"name": "Planted", "owner_id": victim.id}, headers=owner.headers
    )
    patched = await core_client.patch(
        f"/api/v1/bots/{bot['id']}", json={"owner_id": victim.id}, headers=owner.headers
    )
    victims_bots = await core_client.get("/api/v1/bots", headers=victim.headers)
    async with core_db.connect() as connection:
        owners = set(await connection.scalars(text("SELECT owner_id::text FROM bots")))

    assert created.status_code == 422
    assert patched.status_code == 422
    assert victims_bots.json()["items"] == []
    assert owners == {owner.id}

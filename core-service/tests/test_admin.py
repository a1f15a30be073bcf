"""Staff endpoints: list users, change a plan, (de)activate, edit plans; 403 for others."""

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.admin.cli import set_staff
from core_service.config import Settings
from testsupport.core_users import plans_restored, signup

ADMIN = "/api/v1/admin"


async def test_non_staff_get_403_and_anonymous_401(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    forbidden = await core_client.get(f"{ADMIN}/users", headers=user.headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "Forbidden"
    assert (await core_client.get(f"{ADMIN}/users")).status_code == 401


async def test_staff_list_users_page_by_page(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    for _ in range(3):
        await signup(core_client)
    first = await core_client.get(f"{ADMIN}/users?limit=2", headers=staff.headers)
    second = await core_client.get(f"{ADMIN}/users?limit=2&offset=2", headers=staff.headers)
    assert first.status_code == 200
    assert first.json()["total"] == 4
    assert len(first.json()["items"]) == 2
    assert len(second.json()["items"]) == 2
    assert "hashed_password" not in first.text + second.text
    too_big = await core_client.get(f"{ADMIN}/users?limit=1000", headers=staff.headers)
    assert too_big.status_code == 422


async def test_staff_change_a_users_plan(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    user = await signup(core_client)
    response = await core_client.put(
        f"{ADMIN}/users/{user.id}/plan", headers=staff.headers, json={"plan": "pro"}
    )
    assert response.status_code == 200
    assert response.json()["subscription_plan"]["name"] == "pro"
    usage = (await core_client.get("/api/v1/usage", headers=user.headers)).json()
    assert usage["plan"] == "pro"
    assert usage["bots"]["limit"] == response.json()["subscription_plan"]["limits"]["max_bots"]
    missing_plan = await core_client.put(
        f"{ADMIN}/users/{user.id}/plan", headers=staff.headers, json={"plan": "platinum"}
    )
    assert missing_plan.status_code == 404
    missing_user = await core_client.put(
        f"{ADMIN}/users/00000000-0000-4000-8000-000000000000/plan",
        headers=staff.headers,
        json={"plan": "pro"},
    )
    assert missing_user.status_code == 404
    bad_id = await core_client.put(
        f"{ADMIN}/users/not-a-uuid/plan", headers=staff.headers, json={"plan": "pro"}
    )
    assert bad_id.status_code == 422


async def test_deactivation_stops_every_token_at_once(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    user = await signup(core_client)
    response = await core_client.post(f"{ADMIN}/users/{user.id}/deactivate", headers=staff.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert (await core_client.get("/api/v1/auth/me", headers=user.headers)).status_code == 401
    refreshed = await core_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refreshed.status_code == 401
    login = await core_client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    assert login.status_code == 401
    assert login.json()["error"] == "InvalidCredentials"
    await core_client.post(f"{ADMIN}/users/{user.id}/activate", headers=staff.headers)
    login = await core_client.post(
        "/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    assert login.status_code == 200


async def test_staff_cannot_deactivate_themselves(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    response = await core_client.post(f"{ADMIN}/users/{staff.id}/deactivate", headers=staff.headers)
    assert response.status_code == 409


async def test_staff_edit_a_plan_and_its_stripe_price(
    core_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    staff = await signup(core_client, engine=core_db, staff=True)
    async with plans_restored(core_db):
        await _edit_plans(core_client, staff.headers)


async def _edit_plans(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.patch(
        f"{ADMIN}/plans/pro",
        headers=headers,
        json={"stripe_price_id": "price_pro_test", "max_bots": 30},
    )
    assert response.status_code == 200
    assert response.json()["stripe_price_id"] == "price_pro_test"
    assert response.json()["limits"]["max_bots"] == 30
    clash = await client.patch(
        f"{ADMIN}/plans/enterprise", headers=headers, json={"stripe_price_id": "price_pro_test"}
    )
    assert clash.status_code == 409
    cleared = await client.patch(
        f"{ADMIN}/plans/pro", headers=headers, json={"stripe_price_id": None}
    )
    assert cleared.json()["stripe_price_id"] is None
    assert (await client.patch(f"{ADMIN}/plans/gold", headers=headers, json={})).status_code == 404
    huge = await client.patch(f"{ADMIN}/plans/pro", headers=headers, json={"max_bots": 10**12})
    assert huge.status_code == 422


async def test_the_command_line_promotes_the_first_staff_account(
    core_client: httpx.AsyncClient, core_settings: Settings
) -> None:
    user = await signup(core_client)
    url = str(core_settings.database_url)
    assert await set_staff(url, login=user.email.upper(), staff=True) is True
    assert (await core_client.get(f"{ADMIN}/users", headers=user.headers)).status_code == 200
    assert await set_staff(url, login=user.username, staff=False) is True
    assert (await core_client.get(f"{ADMIN}/users", headers=user.headers)).status_code == 403
    assert await set_staff(url, login="nobody", staff=True) is False

"""The Stripe webhook with payloads signed in the test: verification, plan changes, idempotency."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.core_users import SignedUpUser, core_client_for, plans_restored, signup

WEBHOOK = "/api/v1/billing/stripe/webhook"
SECRET = "whsec_test_" + "s" * 32
PRO_PRICE = "price_test_pro"


@pytest.fixture
async def stripe_client(
    core_settings: Settings, core_db: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    """A core app with a webhook secret, and the pro plan sold under ``PRO_PRICE``."""
    settings = core_settings.model_copy(update={"stripe_webhook_secret": SecretStr(SECRET)})
    async with plans_restored(core_db), core_client_for(settings) as client:
        async with core_db.begin() as connection:
            await connection.execute(
                text("UPDATE subscription_plans SET stripe_price_id = :p WHERE name = 'pro'"),
                {"p": PRO_PRICE},
            )
        yield client


def _event(
    kind: str, user: SignedUpUser, *, status: str = "active", created: int | None = None
) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": f"customer.subscription.{kind}",
        "created": created or int(time.time()),
        "data": {
            "object": {
                "id": "sub_test_1",
                "object": "subscription",
                "customer": f"cus_{user.username}",
                "status": status,
                "items": {"data": [{"price": {"id": PRO_PRICE}}]},
                "metadata": {"user_id": user.id},
            }
        },
    }


async def _deliver(
    client: httpx.AsyncClient, event: dict[str, Any], *, secret: str = SECRET, **header: str
) -> httpx.Response:
    payload = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(payload, secret)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json", **header}
    return await client.post(WEBHOOK, content=payload, headers=headers)


async def _plan_of(client: httpx.AsyncClient, user: SignedUpUser) -> tuple[str, str]:
    me = (await client.get("/api/v1/auth/me", headers=user.headers)).json()
    return me["subscription_plan"]["name"], me["subscription_status"]


async def test_forged_or_unsigned_webhooks_are_400(stripe_client: httpx.AsyncClient) -> None:
    user = await signup(stripe_client)
    event = _event("created", user)
    forged = await _deliver(stripe_client, event, secret="whsec_attacker")
    unsigned = await stripe_client.post(WEBHOOK, content=json.dumps(event))
    old = stripe.WebhookSignature.generate_signature_header(
        json.dumps(event), SECRET, timestamp=int(time.time()) - 3_600
    )
    replayed = await stripe_client.post(
        WEBHOOK, content=json.dumps(event), headers={"Stripe-Signature": old}
    )
    garbage = await stripe_client.post(
        WEBHOOK, content=b"\xff\xfe", headers={"Stripe-Signature": "t=1,v1=abc"}
    )
    for response in (forged, unsigned, replayed, garbage):
        assert response.status_code == 400
        assert response.json()["error"] == "InvalidWebhook"
    assert await _plan_of(stripe_client, user) == ("free", "active")


async def test_a_signed_subscription_moves_the_user_to_its_plan(
    stripe_client: httpx.AsyncClient,
) -> None:
    user = await signup(stripe_client)
    response = await _deliver(stripe_client, _event("created", user, status="trialing"))
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "applied"}
    assert await _plan_of(stripe_client, user) == ("pro", "trialing")


async def test_redelivered_events_are_applied_once(
    stripe_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(stripe_client)
    event = _event("updated", user)
    assert (await _deliver(stripe_client, event)).json()["outcome"] == "applied"
    async with core_db.begin() as connection:
        await connection.execute(
            text("UPDATE users SET subscription_status = 'past_due' WHERE id = :id"),
            {"id": uuid.UUID(user.id)},
        )
    again = await _deliver(stripe_client, event)
    assert again.json()["outcome"] == "duplicate"
    assert await _plan_of(stripe_client, user) == ("pro", "past_due")


async def test_deletion_returns_the_user_to_free_and_older_events_are_stale(
    stripe_client: httpx.AsyncClient,
) -> None:
    user = await signup(stripe_client)
    now = int(time.time())
    await _deliver(stripe_client, _event("created", user, created=now - 60))
    deleted = await _deliver(stripe_client, _event("deleted", user, status="canceled", created=now))
    assert deleted.json()["outcome"] == "applied"
    assert await _plan_of(stripe_client, user) == ("free", "canceled")
    late = await _deliver(stripe_client, _event("updated", user, created=now - 30))
    assert late.json()["outcome"] == "stale"
    assert await _plan_of(stripe_client, user) == ("free", "canceled")


async def test_other_events_and_unknown_customers_are_acknowledged(
    stripe_client: httpx.AsyncClient,
) -> None:
    user = await signup(stripe_client)
    invoice = {**_event("created", user), "type": "invoice.paid"}
    assert (await _deliver(stripe_client, invoice)).json()["outcome"] == "ignored"
    stranger = _event("created", user)
    stranger["data"]["object"].update(customer="cus_unknown", metadata={})
    assert (await _deliver(stripe_client, stranger)).json()["outcome"] == "ignored"
    malformed = _event("created", user)
    malformed["data"]["object"] = {"id": "sub_x"}
    far_future = _event("created", user, created=10**20)
    not_an_event = ["a", "list"]
    for body in (malformed, far_future, not_an_event):
        assert (await _deliver(stripe_client, body)).status_code == 400  # type: ignore[arg-type]


async def test_the_webhook_is_503_without_a_secret(core_client: httpx.AsyncClient) -> None:
    response = await core_client.post(WEBHOOK, content=b"{}", headers={"Stripe-Signature": "x"})
    assert response.status_code == 503
    assert response.json()["error"] == "BillingNotConfigured"

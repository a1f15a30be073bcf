"""Verify Stripe webhooks and apply subscription events to users, each event once."""

import json
import uuid
from datetime import UTC, datetime

import stripe
import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.billing.exceptions import InvalidWebhook
from core_service.billing.models import StripeEvent
from core_service.billing.schemas import StripeEventBody, StripeSubscription, WebhookOutcome
from core_service.plans import service as plans_service
from core_service.plans.models import SubscriptionPlan
from core_service.users.models import SubscriptionStatus, User

__all__ = ["apply_event", "verify_event"]

_log = structlog.get_logger(__name__)
# Subscriptions in these states no longer pay: their users fall back to the free plan.
_ENDED = {
    SubscriptionStatus.CANCELED,
    SubscriptionStatus.INCOMPLETE_EXPIRED,
    SubscriptionStatus.UNPAID,
}


def verify_event(
    payload: bytes, *, signature: str | None, secret: str, tolerance_s: int
) -> StripeEventBody:
    """The event, once its ``Stripe-Signature`` verifies; ``InvalidWebhook`` otherwise."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance_s)
        return StripeEventBody.model_validate(json.loads(payload))
    except (stripe.SignatureVerificationError, ValueError, ValidationError) as error:
        _log.info("stripe_webhook_refused", reason=type(error).__name__)
        raise InvalidWebhook from None


async def apply_event(session: AsyncSession, *, event: StripeEventBody) -> WebhookOutcome:
    """Apply a ``customer.subscription.*`` event once; other events are acknowledged."""
    if not event.type.startswith("customer.subscription."):
        return WebhookOutcome.IGNORED
    try:
        subscription = StripeSubscription.model_validate(event.data.object)
    except ValidationError:
        raise InvalidWebhook("The event does not carry a subscription.") from None
    if not await _record_once(session, event):
        return WebhookOutcome.DUPLICATE
    user = await _subscriber(session, subscription)
    if user is None:
        _log.warning("stripe_event_unmatched", event_id=event.id, customer=subscription.customer)
        return WebhookOutcome.IGNORED
    created = datetime.fromtimestamp(event.created, tz=UTC)
    if user.stripe_event_created_at is not None and created < user.stripe_event_created_at:
        return WebhookOutcome.STALE
    await _apply_subscription(session, user=user, event=event, subscription=subscription)
    user.stripe_event_created_at = created
    await session.flush()
    return WebhookOutcome.APPLIED


async def _record_once(session: AsyncSession, event: StripeEventBody) -> bool:
    # The primary key makes a concurrent redelivery wait for this transaction, then do nothing.
    inserted = await session.scalar(
        insert(StripeEvent)
        .values(id=event.id, type=event.type)
        .on_conflict_do_nothing(index_elements=[StripeEvent.id])
        .returning(StripeEvent.id)
    )
    return inserted is not None


async def _subscriber(session: AsyncSession, subscription: StripeSubscription) -> User | None:
    user = await session.scalar(
        select(User).where(User.stripe_customer_id == subscription.customer).with_for_update()
    )
    if user is not None:
        return user
    # Checkout puts our user id in the subscription's metadata; it links the customer.
    try:
        user_id = uuid.UUID(subscription.metadata.get("user_id", ""))
    except ValueError:
        return None
    user = await session.get(User, user_id, with_for_update=True)
    if user is not None and user.stripe_customer_id is None:
        user.stripe_customer_id = subscription.customer
        return user
    return None


async def _apply_subscription(
    session: AsyncSession, *, user: User, event: StripeEventBody, subscription: StripeSubscription
) -> None:
    status = _status(subscription.status)
    deleted = event.type == "customer.subscription.deleted"
    plan: SubscriptionPlan | None
    if deleted or status in _ENDED:
        plan = await plans_service.get_free_plan(session)
        status = SubscriptionStatus.CANCELED if deleted else status
    else:
        price_id = subscription.price_id
        found = await plans_service.get_plan_by_stripe_price(session, price_id=price_id or "")
        if found is None:
            _log.warning("stripe_price_unknown", event_id=event.id, price_id=price_id)
        plan = found
    if plan is not None:
        user.subscription_plan_id = plan.id
    user.subscription_status = status.value
    user.stripe_subscription_id = subscription.id
    _log.info("stripe_subscription_applied", user_id=str(user.id), status=status.value)


def _status(value: str) -> SubscriptionStatus:
    try:
        return SubscriptionStatus(value)
    except ValueError:
        return SubscriptionStatus.INCOMPLETE

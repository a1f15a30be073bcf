"""``POST /api/v1/billing/stripe/webhook``: Stripe calls it, signed with the endpoint secret."""

from fastapi import APIRouter, Request

from core_service.auth.dependencies import AppSettings
from core_service.billing import service as billing_service
from core_service.billing.exceptions import BillingNotConfigured
from core_service.billing.schemas import WebhookAck
from core_service.database import SessionDep

__all__ = ["router"]

# Stripe's own libraries accept signatures up to five minutes old; a replayed event is older.
STRIPE_SIGNATURE_TOLERANCE_S = 300

router = APIRouter(prefix="/billing", tags=["billing"])


@router.post("/stripe/webhook", response_model=WebhookAck)
async def stripe_webhook(
    request: Request, session: SessionDep, settings: AppSettings
) -> WebhookAck:
    """Apply a signed ``customer.subscription.*`` event (400 when the signature is wrong)."""
    if settings.stripe_webhook_secret is None:
        raise BillingNotConfigured
    event = billing_service.verify_event(
        await request.body(),
        signature=request.headers.get("stripe-signature"),
        secret=settings.stripe_webhook_secret.get_secret_value(),
        tolerance_s=STRIPE_SIGNATURE_TOLERANCE_S,
    )
    outcome = await billing_service.apply_event(session, event=event)
    return WebhookAck(outcome=outcome)

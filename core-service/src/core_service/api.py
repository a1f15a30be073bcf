"""The ``/api/v1`` routes: every feature router is included here."""

from fastapi import APIRouter, FastAPI

from core_service.admin.router import router as admin_router
from core_service.analytics.router import router as analytics_router
from core_service.auth.router import router as auth_router
from core_service.billing.router import router as billing_router
from core_service.botkeys.router import router as botkeys_router
from core_service.bots.router import router as bots_router
from core_service.chat.router import router as chat_router
from core_service.conversations.router import router as conversations_router
from core_service.documents.router import router as documents_router
from core_service.errors import ERROR_RESPONSES
from core_service.evaluations.router import router as evaluations_router
from core_service.feedback.router import router as feedback_router
from core_service.openai_compat.router import router as openai_router
from core_service.plans.router import router as plans_router
from core_service.public.router import router as public_router
from core_service.sources.router import router as sources_router
from core_service.usage.router import router as usage_router
from core_service.webhooks.router import router as webhooks_router

__all__ = ["API_PREFIX", "include_api_routers"]

API_PREFIX = "/api/v1"

# Hot paths first: FastAPI matches an included router by scanning every route of every router
# included before it (twice per request), so order is a cost on every request.
_FEATURE_ROUTERS: tuple[APIRouter, ...] = (
    bots_router,
    documents_router,
    conversations_router,
    chat_router,
    feedback_router,
    public_router,
    openai_router,
    analytics_router,
    evaluations_router,
    botkeys_router,
    sources_router,
    auth_router,
    plans_router,
    usage_router,
    admin_router,
    billing_router,
    webhooks_router,
)


def include_api_routers(app: FastAPI) -> None:
    """Mount each feature router on the app under ``/api/v1``."""
    for router in _FEATURE_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)

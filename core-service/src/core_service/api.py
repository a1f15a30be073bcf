"""The ``/api/v1`` router: every feature router is included here."""

from fastapi import APIRouter

from core_service.admin.router import router as admin_router
from core_service.auth.router import router as auth_router
from core_service.billing.router import router as billing_router
from core_service.bots.router import router as bots_router
from core_service.chat.router import router as chat_router
from core_service.conversations.router import router as conversations_router
from core_service.documents.router import router as documents_router
from core_service.errors import ERROR_RESPONSES
from core_service.plans.router import router as plans_router
from core_service.usage.router import router as usage_router

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
api_router.include_router(auth_router)
api_router.include_router(plans_router)
api_router.include_router(usage_router)
api_router.include_router(admin_router)
api_router.include_router(billing_router)
api_router.include_router(bots_router)
api_router.include_router(documents_router)
api_router.include_router(conversations_router)
api_router.include_router(chat_router)

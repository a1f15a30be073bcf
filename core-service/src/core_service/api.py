"""The ``/api/v1`` router: every feature router is included here."""

from fastapi import APIRouter

from core_service.errors import ERROR_RESPONSES

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

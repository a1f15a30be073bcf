"""The ``/api/v1`` router: every feature router is included here."""

from fastapi import APIRouter

__all__ = ["api_router"]

api_router = APIRouter(prefix="/api/v1")

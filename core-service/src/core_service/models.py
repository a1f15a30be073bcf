"""Imports every feature's models so that ``Base.metadata`` knows all tables (for Alembic)."""

from core_service.database import Base

__all__ = ["Base"]

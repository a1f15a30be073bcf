"""Alembic migrations of the core database."""

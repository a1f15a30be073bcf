"""Run the core migrations from code (``make run``, tests) as ``alembic upgrade head`` would."""

import asyncio
from importlib.resources import files

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade_to_head", "upgrade_to_head_async"]


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(files("core_service") / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every pending migration (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    """``upgrade_to_head`` from inside a running event loop."""
    await asyncio.to_thread(upgrade_to_head, database_url)


if __name__ == "__main__":
    from core_service.config import Settings

    url = Settings().database_url
    if url is None:
        raise SystemExit("set CORE_DATABASE_URL (or DATABASE_URL)")
    upgrade_to_head(url)

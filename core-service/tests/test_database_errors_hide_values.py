"""A failed statement's error (what an error log prints) names the statement, never its values:
they are users' texts, such as whole document chunks."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core_service.config import Settings
from core_service.database import create_engine

USER_TEXT = "a private passage of a user's document " * 20


async def test_a_failed_statement_does_not_show_its_parameters(core_settings: Settings) -> None:
    engine = create_engine(core_settings)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(text("SELECT length(:chunk) / 0"), {"chunk": USER_TEXT})
    finally:
        await engine.dispose()
    shown = str(failed.value) + repr(failed.value)
    assert "division by zero" in shown
    assert "private passage" not in shown

"""A refused agent start-up names the problem, never any part of a secret."""

import pytest
from pydantic import ValidationError

from agent_service.config import Settings

GOOGLE_KEY = "AIzaSy-a-real-looking-key-TAIL9"


def test_a_refused_configuration_does_not_show_the_secrets_it_was_given() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({"environment": "production", "google_api_key": GOOGLE_KEY})
    message = str(refused.value)
    assert "AGENT_API_KEYS must be set in production" in message
    assert "TAIL9" not in message
    assert GOOGLE_KEY[:10] not in message


def test_the_gemini_dimensions_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENT_GEMINI_EMBEDDING_DIMENSIONS", "1536")
    assert Settings().gemini_embedding_dimensions == 1536
    monkeypatch.setenv("AGENT_GEMINI_EMBEDDING_DIMENSIONS", "1000")
    with pytest.raises(ValidationError, match="768 or 1536"):
        Settings()

"""Our own events: JSON lines on stdout, filtered by level, with tracebacks; stdlib records too."""

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog

from chatsphere_kit.logging import configure_logging


@pytest.fixture
def warning_level() -> Iterator[None]:
    configure_logging(level="WARNING", json_output=True)
    yield
    configure_logging(level="INFO", json_output=True)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("warning_level")
def test_events_below_the_level_are_dropped_and_the_rest_are_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A logger name no other test used: structlog caches a logger's configuration on first use.
    log = structlog.get_logger("chatsphere_kit.tests.level")
    structlog.contextvars.bind_contextvars(request_id="abc")
    try:
        log.info("hidden")
        log.warning("shown", count=2)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        logging.getLogger("some.library").info("hidden too")
        logging.getLogger("some.library").warning("from a library")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = _lines(capsys)
    assert [line["event"] for line in lines] == ["shown", "failed", "from a library"]
    shown = lines[0]
    assert shown["count"] == 2
    assert shown["level"] == "warning"
    assert shown["logger"] == "chatsphere_kit.tests.level"
    assert shown["request_id"] == "abc"
    assert str(shown["timestamp"]).endswith("Z")
    assert "ValueError: boom" in str(lines[1]["exception"])
    assert lines[2]["logger"] == "some.library"
    assert lines[2]["request_id"] == "abc"


def test_any_value_is_written_even_one_the_fast_encoder_refuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = structlog.get_logger("chatsphere_kit.tests.values")
    bot_id = uuid.UUID("12345678-1234-5678-1234-567812345678")

    log.info("ids", bot_id=bot_id, keys={1: "one"})
    log.info("huge", offset=10**25, thing=object())

    ids, huge = _lines(capsys)
    assert (ids["bot_id"], ids["keys"]) == (str(bot_id), {"1": "one"})
    assert huge["offset"] == 10**25
    assert str(huge["thing"]).startswith("<object object at")

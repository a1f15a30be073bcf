"""The agent app in-process, for the quality benchmarks that only measure answers."""

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from agent_service.config import EmbedderKind, Settings
from agent_service.main import create_app
from testsupport.asgi import started_client

__all__ = ["AUTH", "agent_client", "measured_embedders"]

AUTH = {"Authorization": "Bearer development-only-agent-key"}


@asynccontextmanager
async def agent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A started agent app and a client that talks to it in-process with the development key."""
    async with started_client(
        create_app(settings), base_url="http://agent", headers=AUTH
    ) as client:
        client.timeout = httpx.Timeout(300)
        yield client


def measured_embedders() -> list[EmbedderKind]:
    """The offline embedders: hash, the shipped static model, and ``local`` when its extra is
    installed (``uv sync --extra local``)."""
    local = importlib.util.find_spec("sentence_transformers") is not None
    return [EmbedderKind.HASH, EmbedderKind.STATIC, *([EmbedderKind.LOCAL] if local else [])]

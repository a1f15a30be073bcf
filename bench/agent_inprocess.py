"""The agent app in-process, for the quality benchmarks that only measure answers."""

import importlib.util
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from agent_service.config import EmbedderKind, Settings
from agent_service.main import create_app
from testsupport.asgi import started_client

__all__ = [
    "AUTH",
    "agent_client",
    "measured_configurations",
    "measured_embedders",
    "retrieval_label",
]

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


def measured_configurations() -> list[tuple[EmbedderKind, float | None]]:
    """(embedder, vector weight of hybrid fusion, None for vector-only) pairs to measure.

    ``BENCH_VECTOR_WEIGHTS`` (e.g. ``1,2,3,5``) lists the hybrid weights to compare; by default
    the configured one only. ``BENCH_EMBEDDERS`` (e.g. ``static,local``) narrows the embedders.
    """
    default = str(Settings.model_fields["hybrid_vector_weight"].default)
    weights = [float(w) for w in os.environ.get("BENCH_VECTOR_WEIGHTS", default).split(",")]
    chosen = os.environ.get("BENCH_EMBEDDERS")
    embedders = [e for e in measured_embedders() if chosen is None or e.value in chosen.split(",")]
    return [(e, w) for e in embedders for w in [None, *weights]]


def retrieval_label(weight: float | None) -> str:
    """How a configuration reads in a table: vector-only, or hybrid with its weights."""
    return "vector-only" if weight is None else f"hybrid {weight:g}:1"

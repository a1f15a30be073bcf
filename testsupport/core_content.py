"""Small factories for the bots/documents/chat tests: files, bots, uploads and a worker."""

import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import docx
import httpx
from fastapi import FastAPI
from reportlab.pdfgen import canvas

from core_service.config import Settings
from core_service.main import create_app
from core_service.worker.runner import Worker
from testsupport.agent_inprocess import AgentHarness
from testsupport.asgi import started_client
from testsupport.core_users import SignedUpUser

__all__ = [
    "core_client_with_agent",
    "create_bot",
    "drain",
    "make_docx",
    "make_pdf",
    "make_worker",
    "upload",
]

FAST_RETRIES: dict[str, Any] = {
    "worker_retry_initial_s": 0.01,
    "worker_retry_max_s": 0.05,
    "worker_attempts_per_claim": 2,
    "worker_max_attempts": 50,
}


def make_pdf(*pages: str) -> bytes:
    """A real PDF with one line of text per page."""
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    for text in pages:
        document.drawString(72, 720, text)
        document.showPage()
    document.save()
    return buffer.getvalue()


def make_docx(*paragraphs: str) -> bytes:
    """A real Word document."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def create_bot(
    client: httpx.AsyncClient, user: SignedUpUser, **configuration: Any
) -> dict[str, Any]:
    """A new bot of ``user`` (201 asserted)."""
    answer = await client.post(
        "/api/v1/bots",
        json={"name": "Helper", "configuration": configuration},
        headers=user.headers,
    )
    assert answer.status_code == 201, answer.text  # noqa: S101
    body: dict[str, Any] = answer.json()
    return body


async def upload(
    client: httpx.AsyncClient,
    user: SignedUpUser,
    bot_id: str,
    filename: str,
    data: bytes,
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    """``POST /bots/{id}/documents`` with one file."""
    return await client.post(
        f"/api/v1/bots/{bot_id}/documents",
        files={"file": (filename, data, content_type)},
        headers=user.headers,
    )


@asynccontextmanager
async def core_client_with_agent(
    settings: Settings,
    agent: AgentHarness,
    *,
    in_front: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A started core app built with ``settings`` that reaches the in-process agent.

    ``in_front`` wraps the agent's transport (a test that acts as requests reach the agent).
    """
    transport = agent.transport if in_front is None else in_front(agent.transport)
    app = create_app(settings, agent_transport=transport)
    async with started_client(app, base_url="http://core.test") as client:
        yield client


def make_worker(app: FastAPI, settings: Settings, *, worker_id: str, **overrides: Any) -> Worker:
    """A worker on the app's database and agent client, with fast retries."""
    return Worker(
        sessionmaker=app.state.sessionmaker,
        agent=app.state.agent_client.with_retry_attempts(1),
        settings=settings.model_copy(update={**FAST_RETRIES, **overrides}),
        worker_id=worker_id,
    )


async def drain(worker: Worker, *, limit: int = 1_000) -> int:
    """Process visible jobs until none is left; how many were processed."""
    done = 0
    while done < limit and await worker.run_once():
        done += 1
    return done

"""``/v1/retrieve`` on a real agent process over a socket: the answer, and what its database
connections ran for it (one statement per search: no per-query ``SET``, no reset on release)."""

import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from agent_service.config import DEVELOPMENT_API_KEY, Settings
from agent_service.database import plain_dsn
from testsupport.service_process import ServiceProcess, running_uvicorn

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {DEVELOPMENT_API_KEY}"}
TOPICS = ["invoices are sent monthly", "the cat sleeps on the sofa", "backups run at night"]


@pytest.fixture(scope="module")
def agent(agent_database_url: str) -> Iterator[ServiceProcess]:
    """A vector-only agent on the hash embedder."""
    env = {
        "AGENT_ENVIRONMENT": "test",
        "AGENT_DATABASE_URL": agent_database_url,
        "AGENT_EMBEDDER": "hash",
        "AGENT_HYBRID_SEARCH": "false",
    }
    with running_uvicorn("agent_service.main:create_app", env) as service:
        yield service


async def test_a_search_over_the_socket_is_one_statement_on_the_database(
    agent: ServiceProcess, agent_database_url: str
) -> None:
    namespace = f"bot-{uuid.uuid4()}"
    chunks = [
        {"id": f"c{n}", "document_id": f"d{n % 3}", "text": f"{TOPICS[n % 3]} ({n})"}
        for n in range(30)
    ]
    async with httpx.AsyncClient(base_url=agent.base_url, headers=AUTH, timeout=30) as client:
        indexed = await client.post(
            "/v1/index/upsert", json={"namespace": namespace, "chunks": chunks}
        )
        assert indexed.status_code == 200, indexed.text
        answer = await client.post(
            "/v1/retrieve",
            json={"namespace": namespace, "query": "when are invoices sent", "top_k": 3},
        )
    assert answer.status_code == 200, answer.text
    matches = answer.json()["matches"]
    assert len(matches) == 3
    assert all(match["document_id"] == "d0" for match in matches)
    last_statements = await _agent_statements(agent_database_url)
    assert last_statements
    assert not [sql for sql in last_statements if "RESET ALL" in sql or sql.startswith("SET ")]


async def _agent_statements(database_url: str) -> list[str]:
    """The last statement each of the agent's connections ran."""
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT query FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()",
            Settings.service_name,
        )
    finally:
        await connection.close()
    return [row["query"].strip() for row in rows]

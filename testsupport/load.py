"""What the load tests share: their databases and the settings of the services they start."""

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from core_service.migrate import upgrade_to_head_async
from testsupport.postgres import PostgresServer

__all__ = ["Tally", "agent_load_environment", "core_load_environment", "load_databases"]


@dataclass
class Tally:
    """What a load run saw: requests, completed streams and their latencies, memory samples of
    the services, and what went wrong (counted by kind, with the first few examples)."""

    requests: int = 0
    done: int = 0
    turns_s: list[float] = field(default_factory=list)
    setup_s: list[float] = field(default_factory=list)
    rss: dict[str, list[int]] = field(default_factory=lambda: {"core": [], "agent": []})
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def fail(self, kind: str, detail: str) -> None:
        """Count a failure of this kind; keep its detail if it is among the first five."""
        self.errors[kind] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {detail[:300]}")


@asynccontextmanager
async def load_databases(server: PostgresServer, prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A migrated core database and an agent database (their URLs), dropped afterwards."""
    core_name = await server.create_database(f"core_{prefix}")
    agent_name = await server.create_database(f"agent_{prefix}")
    core_url = server.url_for(core_name, driver="postgresql+asyncpg")
    await upgrade_to_head_async(core_url)
    try:
        yield core_url, server.url_for(agent_name)
    finally:
        for name in (core_name, agent_name):
            await server.drop_database(name)


def agent_load_environment(agent_url: str) -> dict[str, str]:
    """The agent on its offline defaults, logging only what went wrong."""
    return {
        "AGENT_ENVIRONMENT": "test",
        "AGENT_DATABASE_URL": agent_url,
        "AGENT_LOG_LEVEL": "WARNING",
    }


def core_load_environment(core_url: str, agent_base_url: str, **extra: str) -> dict[str, str]:
    """Core (and its worker) against ``agent_base_url``, with sign-ups cheap enough to make
    hundreds of users; ``extra`` adds or overrides settings."""
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": core_url,
        "CORE_AGENT_URL": agent_base_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_WORKER_POLL_INTERVAL_S": "0.1",
        "CORE_LOG_LEVEL": "WARNING",
        **extra,
    }

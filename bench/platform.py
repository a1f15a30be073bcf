"""The whole platform for end-to-end benchmarks: agent, core API and worker on one server."""

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx

from bench.harness import RESULTS, ROOT, Service, set_plan, uvicorn_service, wait_until_ready
from core_service.migrate import upgrade_to_head
from testsupport.postgres import PostgresServer
from testsupport.service_process import free_port

PASSWORD = "bench-pass-123"  # noqa: S105 - a throwaway benchmark account


@dataclass(frozen=True)
class Platform:
    """Running services and the credentials a benchmark needs."""

    core: Service
    agent: Service
    worker: subprocess.Popen[bytes]
    agent_key: str
    user_headers: dict[str, str]


@contextmanager
def running_platform(
    database: PostgresServer,
    *,
    extra_env: dict[str, str] | None = None,
    agent_env: dict[str, str] | None = None,
) -> Iterator[Platform]:
    """Agent, core API and the worker, with an enterprise-plan user signed in; ``agent_env``
    adds settings for the agent's process only."""
    agent_key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(agent_key.encode()).hexdigest()
    core_url = database.url_for("bench_core", driver="postgresql+asyncpg")
    upgrade_to_head(core_url)
    env = {
        "AGENT_DATABASE_URL": database.url_for("bench_agent"),
        "AGENT_API_KEYS": json.dumps([{"name": "core", "sha256": digest}]),
        "CORE_DATABASE_URL": core_url,
        "CORE_AGENT_API_KEY": agent_key,
        "CORE_WORKER_POLL_INTERVAL_S": "0.2",
        # A benchmark loads a corpus at once, faster than a person uploads.
        "CORE_RATE_LIMIT_UPLOADS_PER_USER": "100000",
        "AGENT_LOG_LEVEL": "WARNING",
        "CORE_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    with ExitStack() as stack:
        agent = stack.enter_context(
            uvicorn_service("agent", "agent_service.main:create_app", env | (agent_env or {}))
        )
        env["CORE_AGENT_URL"] = agent.url
        core = stack.enter_context(uvicorn_service("core", "core_service.main:create_app", env))
        process = stack.enter_context(_worker_process(env))
        headers = sign_up(core.url, database.url_for("bench_core"), "bench")
        yield Platform(
            core=core, agent=agent, worker=process, agent_key=agent_key, user_headers=headers
        )


@contextmanager
def _worker_process(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The worker, started: a measurement must not include its start-up (seconds on a busy
    machine), so its metrics port answering is the sign that it polls the outbox."""
    log = open(RESULTS / "worker.log", "wb")  # noqa: SIM115 - closed below
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "core_service.worker"],
        env={**_base_env(), **env, "CORE_WORKER_METRICS_PORT": str(port)},
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    try:
        wait_until_ready(Service("worker", f"http://127.0.0.1:{port}", process), "/metrics")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _base_env() -> dict[str, str]:
    return dict(os.environ)


def sign_up(core_url: str, dsn: str, username: str) -> dict[str, str]:
    """A new enterprise-plan user's authorisation headers."""
    credentials = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    with httpx.Client(base_url=core_url, timeout=30) as client:
        client.post("/api/v1/auth/register", json=credentials).raise_for_status()
        set_plan(dsn, username=username, plan="enterprise")
        login = client.post("/api/v1/auth/login", data={"username": username, "password": PASSWORD})
        return {"Authorization": f"Bearer {login.raise_for_status().json()['access_token']}"}


def wait_until_documents_ready(
    core_url: str, headers: dict[str, str], bot_id: str, expected: int, *, timeout_s: float = 1800
) -> float:
    """Poll until ``expected`` documents are ready; returns the time it took (raises on error)."""
    started = time.perf_counter()
    with httpx.Client(base_url=core_url, headers=headers, timeout=30) as client:
        while time.perf_counter() - started < timeout_s:
            states = _document_states(client, bot_id)
            if states.get("error"):
                raise RuntimeError(f"{states['error']} documents failed to index")
            if states.get("ready", 0) >= expected:
                return time.perf_counter() - started
            time.sleep(0.2)
    raise TimeoutError("documents did not become ready in time")


def _document_states(client: httpx.Client, bot_id: str) -> dict[str, int]:
    states: dict[str, int] = {}
    offset = 0
    while True:
        page = (
            client.get(f"/api/v1/bots/{bot_id}/documents", params={"limit": 100, "offset": offset})
            .raise_for_status()
            .json()
        )
        for document in page["items"]:
            states[document["status"]] = states.get(document["status"], 0) + 1
        offset += 100
        if offset >= page["total"]:
            return states

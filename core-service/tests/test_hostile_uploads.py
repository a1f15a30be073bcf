"""Hostile files against real core and worker processes over real sockets (issue 16).

Each file is small on the wire and expensive to parse. The API only stores it (202); the worker
parses it in a confined child process, which the limits stop, so the document ends ``error`` with
a reason, and a normal login and bot list stay fast while the attack runs. The test prints the
memory of core and worker (with their children) before, during and after, and what the
extraction processes cost.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from testsupport.core_content import create_bot, upload
from testsupport.core_users import SignedUpUser, signup
from testsupport.hostile_files import docx_of_empty_paragraphs, pdf_of_shared_heavy_stream
from testsupport.service_process import ServiceProcess, free_port, running_uvicorn, running_worker

pytestmark = pytest.mark.slow

CPU_SECONDS = 2
MEMORY_MB = 320
WALL_SECONDS = 60
NORMAL_REQUEST_BUDGET_S = 1.0


def _env(database_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": f"http://127.0.0.1:{free_port()}",  # never reached: parsing fails
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
        "CORE_WORKER_POLL_INTERVAL_S": "0.1",
        # The bystander logs in over and over on purpose: the login limits must not stop it.
        "CORE_RATE_LIMIT_LOGIN_PER_ACCOUNT": "100000",
        "CORE_RATE_LIMIT_LOGIN_PER_ADDRESS": "100000",
        "CORE_RATE_LIMIT_LOGIN_PER_ACCOUNT_ALL_ADDRESSES": "100000",
        "CORE_EXTRACTION_CPU_SECONDS": str(CPU_SECONDS),
        "CORE_EXTRACTION_MEMORY_MB": str(MEMORY_MB),
        "CORE_EXTRACTION_WALL_SECONDS": str(WALL_SECONDS),
    }


def _rss_mb(process: psutil.Process) -> float:
    """Resident memory of the process and all its children, in MB."""
    total = 0
    for member in (process, *process.children(recursive=True)):
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


@dataclass
class Watch:
    """Peak memory of core and worker, and the CPU each extraction child was seen using."""

    core: psutil.Process
    worker: psutil.Process
    peak_core_mb: float = 0.0
    peak_worker_mb: float = 0.0
    child_cpu_s: dict[int, float] = field(default_factory=dict)
    child_environment: set[str] = field(default_factory=set)

    def sample(self) -> None:
        """Record the current figures."""
        self.peak_core_mb = max(self.peak_core_mb, _rss_mb(self.core))
        self.peak_worker_mb = max(self.peak_worker_mb, _rss_mb(self.worker))
        for child in self.worker.children(recursive=True):
            try:
                times = child.cpu_times()
                self.child_environment.update(child.environ())
            except psutil.NoSuchProcess:
                continue
            self.child_cpu_s[child.pid] = times.user + times.system


@dataclass
class Probe:
    """A normal user's login and bot list, timed, over and over while the attack runs."""

    client: httpx.AsyncClient
    user: SignedUpUser
    timings: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        """Log in and list bots until ``stop``; each pair's slower request is recorded."""
        while not stop.is_set():
            started = time.perf_counter()
            login = await self.client.post(
                "/api/v1/auth/login",
                data={"username": self.user.username, "password": self.user.password},
            )
            login_s = time.perf_counter() - started
            started = time.perf_counter()
            bots = await self.client.get("/api/v1/bots", headers=self.user.headers)
            listed_s = time.perf_counter() - started
            assert (login.status_code, bots.status_code) == (200, 200), login.text
            self.timings.append(max(login_s, listed_s))
            await asyncio.sleep(0.2)


@contextmanager
def _services(database_url: str) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    env = _env(database_url)
    with (
        running_uvicorn("core_service.main:create_app", env) as core,
        running_worker(env) as worker,
    ):
        yield core, worker


async def _wait_all_failed(
    client: httpx.AsyncClient, user: SignedUpUser, bot_id: str, count: int, watch: Watch
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 300
    while True:
        watch.sample()
        page = await client.get(f"/api/v1/bots/{bot_id}/documents", headers=user.headers)
        items = page.json()["items"]
        if len(items) == count and all(item["status"] != "processing" for item in items):
            return list(items)
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Outcome:
    """What the attacker got, how the documents ended, the slowest normal request."""

    statuses: list[int]
    documents: list[dict[str, Any]]
    slowest_normal_request_s: float
    child_environment: set[str]


async def _attack(core_database_url: str, files: list[tuple[str, bytes]]) -> Outcome:
    with _services(core_database_url) as (core, worker):
        async with httpx.AsyncClient(base_url=core.base_url, timeout=60) as client:
            attacker = await signup(client)
            bystander = await signup(client)
            bot = await create_bot(client, attacker)
            assert worker.wait_for_output("worker_started")  # measured once it is ready
            watch = Watch(psutil.Process(core.process.pid), psutil.Process(worker.process.pid))
            before = (_rss_mb(watch.core), _rss_mb(watch.worker))
            probe, stop = Probe(client, bystander), asyncio.Event()
            probing = asyncio.create_task(probe.run(stop))
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(upload(client, attacker, bot["id"], name, data) for name, data in files)
            )
            documents = await _wait_all_failed(client, attacker, bot["id"], len(files), watch)
            elapsed_s = time.perf_counter() - started
            stop.set()
            await probing
            after = (_rss_mb(watch.core), _rss_mb(watch.worker))
    print(  # noqa: T201 - the figures go into the report
        f"\n{len(files)} x {len(files[0][1]) / 1e3:.0f} KB: all ended after {elapsed_s:.1f} s; "
        f"core RSS {before[0]:.0f} -> peak {watch.peak_core_mb:.0f} -> {after[0]:.0f} MB; "
        f"worker+children RSS {before[1]:.0f} -> peak {watch.peak_worker_mb:.0f} -> "
        f"{after[1]:.0f} MB; extraction CPU seen per child (s): "
        f"{sorted(round(s, 2) for s in watch.child_cpu_s.values())}; "
        f"{len(probe.timings)} login+list pairs, slowest {max(probe.timings):.3f} s, "
        f"reasons {sorted({d['error'] for d in documents})}"
    )
    statuses = [answer.status_code for answer in answers]
    return Outcome(statuses, documents, max(probe.timings), watch.child_environment)


async def test_six_heavy_pdfs_in_parallel_end_as_errors_and_hurt_no_one(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    files = [(f"report-{n}.pdf", pdf_of_shared_heavy_stream(salt=str(n))) for n in range(6)]

    outcome = await _attack(core_database_url, files)

    assert outcome.statuses == [202] * 6
    assert outcome.child_environment  # the extraction processes were seen...
    assert not {key for key in outcome.child_environment if key.startswith("CORE_")}  # ...bare
    for document in outcome.documents:
        assert document["status"] == "error"
        assert f"more than {CPU_SECONDS} seconds of CPU time" in document["error"]
    assert outcome.slowest_normal_request_s < NORMAL_REQUEST_BUDGET_S


async def test_a_docx_of_empty_paragraphs_ends_as_an_error_and_hurts_no_one(
    core_database_url: str, core_db: AsyncEngine
) -> None:
    files = [("minutes.docx", docx_of_empty_paragraphs(20))]

    outcome = await _attack(core_database_url, files)

    assert outcome.statuses == [202]
    [document] = outcome.documents
    assert document["status"] == "error"
    assert document["error"] in (
        f"Reading the file needs more than {MEMORY_MB} MB of memory.",
        f"Reading the file needs more than {CPU_SECONDS} seconds of CPU time.",
    )
    assert outcome.slowest_normal_request_s < NORMAL_REQUEST_BUDGET_S

"""What every benchmark needs: a database, service processes, load, and a place for results."""

import asyncio
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from testsupport.postgres import PostgresServer, start_embedded_postgres, stop_embedded_postgres
from testsupport.service_process import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]


@contextmanager
def embedded_database(*names: str) -> Iterator[PostgresServer]:
    """A fresh embedded PostgreSQL (or ``BENCH_DATABASE_URL``) with the named databases."""
    configured = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="chatsphere-bench-") as folder:
        server = None if configured else start_embedded_postgres(Path(folder) / "pg")
        admin = configured or server.get_uri("postgres")  # type: ignore[attr-defined]
        database = PostgresServer(admin_url=admin)
        asyncio.run(_recreate_databases(database, names))
        try:
            yield database
        finally:
            if server is not None:
                stop_embedded_postgres(server)


async def _recreate_databases(database: PostgresServer, names: Sequence[str]) -> None:
    admin = await asyncpg.connect(database.admin_url)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    for name in names:
        connection = await asyncpg.connect(database.url_for(name))
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            await connection.close()


def set_plan(dsn: str, *, username: str, plan: str) -> None:
    """Move a user to another seeded plan (benchmarks need more than the free plan allows)."""

    async def update() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(
                "UPDATE users SET subscription_plan_id ="
                " (SELECT id FROM subscription_plans WHERE name = $2) WHERE username = $1",
                username,
                plan,
            )
        finally:
            await connection.close()

    asyncio.run(update())


@dataclass
class Service:
    """A server process on a loopback port."""

    name: str
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """SIGTERM, then wait (kill after 20 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def uvicorn_service(
    name: str,
    app: str,
    env: Mapping[str, str],
    *,
    ready_path: str = "/readyz",
    ready_timeout_s: float = 60,
) -> Iterator[Service]:
    """Run ``app`` (a factory, ``module:function``) under uvicorn with the benchmark flags."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port)]
    log = open(RESULTS / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*command, *UVICORN_FLAGS], env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT
    )
    service = Service(name=name, url=f"http://127.0.0.1:{port}", process=process)
    try:
        wait_until_ready(service, ready_path, timeout_s=ready_timeout_s)
        yield service
    finally:
        service.stop()
        log.close()


def wait_until_ready(service: Service, path: str, *, timeout_s: float = 180) -> None:
    """Poll ``path`` until it answers 200; fail if the process dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited; see bench/results/{service.name}.log")
        try:
            with urllib.request.urlopen(service.url + path, timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{service.name} not ready within {timeout_s} s")


@dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one load run."""

    label: str
    requests: int
    failures: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


def mean_of(results: Sequence[LoadResult], attribute: str) -> float:
    """The mean of one figure over rounds (they alternate with the baseline's, so that a noisy
    minute on the machine weighs on both)."""
    values: list[float] = [getattr(result, attribute) for result in results]
    return round(sum(values) / len(values), 2)


def run_locust(
    label: str,
    *,
    host: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    users: int = 64,
    seconds: int = 20,
) -> LoadResult:
    """Closed-loop load from locust FastHttpUser in its own process."""
    spec = {"method": method, "path": path, "headers": dict(headers or {}), "json": body}
    env = {**os.environ, "BENCH_LOCUST_SPEC": json.dumps(spec)}
    stats_file = RESULTS / f"locust-{label}.json"
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")]
    command += ["--headless", "--only-summary", "-u", str(users), "-r", str(users)]
    command += ["-t", f"{seconds}s", "--host", host, "--json-file", str(stats_file.with_suffix(""))]
    command += ["--loglevel", "WARNING", "--stop-timeout", "5"]
    stats_file.unlink(missing_ok=True)  # never report a previous run's figures
    finished = subprocess.run(command, env=env, check=False, capture_output=True, cwd=ROOT)  # noqa: S603
    if not stats_file.exists():
        raise RuntimeError(
            f"locust wrote no results (exit {finished.returncode}): "
            f"{finished.stderr.decode(errors='replace')[-500:]}"
        )
    entries = json.loads(stats_file.read_text())
    entry = next(e for e in entries if e["name"] == "bench")
    return _load_result(label, entry)


def run_sequential(
    label: str,
    *,
    host: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    seconds: int = 20,
) -> LoadResult:
    """One client, one keep-alive connection, requests back to back, each timed to the
    microsecond (locust rounds to whole milliseconds, too coarse for 2-3 ms requests)."""
    url = urllib.parse.urlsplit(host)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    payload = None if body is None else json.dumps(body).encode()
    sent_headers = {**(headers or {}), **({"Content-Type": "application/json"} if payload else {})}
    samples_ms: list[float] = []
    failures = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            begun = time.perf_counter()
            connection.request(method, path, body=payload, headers=sent_headers)
            response = connection.getresponse()
            response.read()
            samples_ms.append((time.perf_counter() - begun) * 1000)
            failures += response.status >= 400
    finally:
        connection.close()
    p50, p99 = latency_summary(samples_ms)
    elapsed = time.perf_counter() - started
    return LoadResult(
        label=label,
        requests=len(samples_ms),
        failures=failures,
        requests_per_s=round(len(samples_ms) / elapsed, 1),
        p50_ms=p50,
        p99_ms=p99,
    )


def ratio_rows(
    results: Mapping[int, Mapping[str, Sequence[LoadResult]]],
    names: Mapping[str, str],
    *,
    baseline: str,
    measured: str,
) -> tuple[list[list[Any]], dict[int, float]]:
    """Per client count and path: clients, name, req/s, p50, p99, failures and p50 against the
    baseline path's (means over rounds); and the measured path's p50 ratio per client count."""
    rows: list[list[Any]] = []
    ratios: dict[int, float] = {}
    for users, by_path in results.items():
        floor = max(mean_of(by_path[baseline], "p50_ms"), 0.1)
        ratios[users] = round(mean_of(by_path[measured], "p50_ms") / floor, 2)
        for key, name in names.items():
            runs = by_path[key]
            p50 = mean_of(runs, "p50_ms")
            rows.append(
                [users, name, mean_of(runs, "requests_per_s"), p50, mean_of(runs, "p99_ms")]
                + [sum(run.failures for run in runs), round(p50 / floor, 2)]
            )
    return rows, ratios


def _load_result(label: str, entry: dict[str, Any]) -> LoadResult:
    times = {int(ms): count for ms, count in entry["response_times"].items()}
    duration = max(entry["last_request_timestamp"] - entry["start_time"], 1e-9)
    return LoadResult(
        label=label,
        requests=entry["num_requests"],
        failures=entry["num_failures"],
        requests_per_s=round(entry["num_requests"] / duration, 1),
        p50_ms=_percentile(times, 0.50),
        p99_ms=_percentile(times, 0.99),
    )


def _percentile(histogram: Mapping[int, int], quantile: float) -> float:
    total = sum(histogram.values())
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= quantile * total:
            return float(value)
    return float("nan")


def latency_summary(samples_ms: Sequence[float]) -> tuple[float, float]:
    """p50 and p99 of a list of latencies in milliseconds."""
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return round(statistics.median(ordered), 2), round(p99, 2)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """``bench/results/<name>.json`` with the machine description added."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document: dict[str, Any] = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    document |= {"machine": machine(), **payload}
    path.write_text(json.dumps(document, indent=2, default=_jsonable))
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, LoadResult):
        return asdict(value)
    raise TypeError(type(value).__name__)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain-text table on stdout."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))

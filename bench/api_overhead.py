"""Benchmark 1: authenticated ``GET /api/v1/bots`` under load against a bare floor.

Ours: the core API (JWT check, the active-user rule, then one page of bots with their count,
both statements compiled once from their rules and run by the driver on the request's session;
validated and serialised by pydantic). The floor: a bare Starlette app on the
same uvicorn settings running one hand-written statement through a raw asyncpg pool and splicing
its JSON (the same body) into the response. Load: locust FastHttpUser in its own process,
64 users, no think time. Target (the guard of issue 17): ours >= 0.45 x the floor.
"""

import os

import httpx

from bench.harness import (
    LoadResult,
    embedded_database,
    mean_of,
    print_table,
    run_locust,
    set_plan,
    uvicorn_service,
    write_result,
)
from core_service.migrate import upgrade_to_head

USERS = int(os.environ.get("BENCH_USERS", "64"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BOTS = 10
TARGET = 0.45


def _seed(core_url: str, dsn: str) -> tuple[str, str]:
    """A user on the enterprise plan with ten bots; returns (access token, user id)."""
    credentials = {"username": "bench", "email": "bench@example.com", "password": "bench-pass-123"}
    with httpx.Client(base_url=core_url, timeout=30) as client:
        client.post("/api/v1/auth/register", json=credentials).raise_for_status()
        set_plan(dsn, username="bench", plan="enterprise")
        login = client.post(
            "/api/v1/auth/login",
            data={"username": credentials["username"], "password": credentials["password"]},
        )
        token = login.raise_for_status().json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(BOTS):
            client.post(
                "/api/v1/bots", json={"name": f"bot {n}"}, headers=headers
            ).raise_for_status()
        user_id = client.get("/api/v1/auth/me", headers=headers).raise_for_status().json()["id"]
    return token, user_id


def main() -> None:
    """Alternate floor and core rounds, print and record."""
    with embedded_database("bench_core") as database:
        core_env = {
            "CORE_DATABASE_URL": database.url_for("bench_core", driver="postgresql+asyncpg"),
            "CORE_ENVIRONMENT": "development",
        }
        upgrade_to_head(core_env["CORE_DATABASE_URL"])
        floor_env = {"BENCH_FLOOR_DSN": database.url_for("bench_core")}
        ours: list[LoadResult] = []
        floor: list[LoadResult] = []
        with uvicorn_service("core-api-overhead", "core_service.main:create_app", core_env) as core:
            token, user_id = _seed(core.url, database.url_for("bench_core"))
        for round_number in range(ROUNDS):
            with uvicorn_service("floor-app", "bench.floor_app:create_app", floor_env) as app:
                floor.append(_load(f"floor-{round_number}", app.url, user_id))
            with uvicorn_service(
                "core-api-overhead", "core_service.main:create_app", core_env
            ) as core:
                ours.append(_load(f"core-{round_number}", core.url, token))
    _report(ours, floor)


def _load(label: str, url: str, token: str) -> LoadResult:
    return run_locust(
        label,
        host=url,
        method="GET",
        path="/api/v1/bots",
        headers={"Authorization": f"Bearer {token}"},
        users=USERS,
        seconds=SECONDS,
    )


def _report(ours: list[LoadResult], floor: list[LoadResult]) -> None:
    rows = []
    for name, results in (("floor: Starlette + asyncpg", floor), ("core GET /api/v1/bots", ours)):
        rows.append(
            [
                name,
                mean_of(results, "requests_per_s"),
                mean_of(results, "p50_ms"),
                mean_of(results, "p99_ms"),
                sum(r.failures for r in results),
            ]
        )
    ratio = round(mean_of(ours, "requests_per_s") / mean_of(floor, "requests_per_s"), 3)
    print_table(
        f"API overhead: {USERS} users, {SECONDS} s x {ROUNDS} rounds each (means)",
        ["server", "req/s", "p50 ms", "p99 ms", "failures"],
        rows,
    )
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"ratio ours / floor (req/s): {ratio}  (target >= {TARGET}: {verdict})")
    write_result(
        "api_overhead",
        {
            "users": USERS,
            "seconds": SECONDS,
            "rounds": ROUNDS,
            "ours": ours,
            "floor": floor,
            "ratio_requests_per_s": ratio,
            "target_met": ratio >= TARGET,
        },
    )


if __name__ == "__main__":
    main()

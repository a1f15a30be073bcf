"""``make bench``: every benchmark in turn (``BENCH_ONLY=name,name`` picks some)."""

import os
import sys
import time
from importlib import import_module

BENCHMARKS = (
    "api_overhead",
    "chat_overhead",
    "openai_overhead",
    "ingestion",
    "paced_ingestion",
    "fairness",
    "source_memory",
    "retrieval_scale",
    "vector_tenants",
    "retrieval_quality",
    "answer_quality",
    "streaming",
)


def main() -> int:
    """Run the chosen benchmarks; a failing one is reported and the rest still run."""
    chosen = [n for n in os.environ.get("BENCH_ONLY", ",".join(BENCHMARKS)).split(",") if n]
    failed = []
    for name in chosen:
        started = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        try:
            import_module(f"bench.{name}").main()
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(name)
            print(f"{name} failed: {type(error).__name__}: {error}", file=sys.stderr)
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    print("\nresults in bench/results/*.json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

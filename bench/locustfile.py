"""One request, repeated by every simulated user; described by ``BENCH_LOCUST_SPEC`` (JSON)."""

import json
import os

from locust import FastHttpUser, task

_SPEC = json.loads(os.environ.get("BENCH_LOCUST_SPEC", '{"method": "GET", "path": "/healthz"}'))


class BenchUser(FastHttpUser):
    """Sends the same request back to back (closed loop, no think time)."""

    @task
    def request(self) -> None:
        """The benchmarked request; any non-2xx counts as a failure."""
        self.client.request(
            _SPEC["method"],
            _SPEC["path"],
            headers=_SPEC.get("headers") or {},
            json=_SPEC.get("json"),
            name="bench",
        )

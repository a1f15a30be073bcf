"""``python -m core_service.worker``: run the worker until SIGTERM or SIGINT."""

import asyncio
import signal

import structlog

from chatsphere_kit.logging import configure_logging
from core_service.config import get_settings
from core_service.observability.metrics import serving_worker_metrics
from core_service.worker.runner import run_worker


async def _main() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    structlog.get_logger(__name__).info("worker_starting")
    with serving_worker_metrics(settings.worker_metrics_port):
        await run_worker(settings, stop=stop)


if __name__ == "__main__":
    asyncio.run(_main())

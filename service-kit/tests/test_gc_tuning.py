"""An app tunes the garbage collector while it serves and restores it when it stops."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chatsphere_kit.gc_tuning import SERVER_THRESHOLDS, tuned_garbage_collector


def _app(*, enabled: bool) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with tuned_garbage_collector(enabled=enabled):
            yield

    return FastAPI(lifespan=lifespan)


async def test_the_app_freezes_start_up_objects_while_serving_and_restores_after() -> None:
    before = gc.get_threshold()
    app = _app(enabled=True)
    async with app.router.lifespan_context(app):
        serving = (gc.get_threshold(), gc.get_freeze_count())
    assert serving[0] == SERVER_THRESHOLDS
    assert serving[1] > 10_000  # the modules, routes and schemas start-up built
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


async def test_gc_tuning_can_be_turned_off() -> None:
    before = gc.get_threshold()
    app = _app(enabled=False)
    async with app.router.lifespan_context(app):
        serving = (gc.get_threshold(), gc.get_freeze_count())
    assert serving == (before, 0)

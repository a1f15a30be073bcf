"""The app tunes the garbage collector while it serves and restores it when it stops."""

import gc

from agent_service.config import Settings
from agent_service.gc_tuning import SERVER_THRESHOLDS
from agent_service.main import create_app


async def test_the_app_freezes_start_up_objects_while_serving_and_restores_after(
    agent_settings: Settings,
) -> None:
    before = gc.get_threshold()
    app = create_app(agent_settings.model_copy(update={"gc_tuning": True}))
    async with app.router.lifespan_context(app):
        serving = (gc.get_threshold(), gc.get_freeze_count())
    assert serving[0] == SERVER_THRESHOLDS
    assert serving[1] > 10_000  # the modules, routes and schemas start-up built
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


async def test_gc_tuning_can_be_turned_off(agent_settings: Settings) -> None:
    before = gc.get_threshold()
    app = create_app(agent_settings.model_copy(update={"gc_tuning": False}))
    async with app.router.lifespan_context(app):
        serving = (gc.get_threshold(), gc.get_freeze_count())
    assert serving == (before, 0)

"""``coalesced``: frames that are ready together leave together; none waits for the next."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from chatsphere_kit.streaming import coalesced


async def test_frames_produced_while_the_sender_was_busy_leave_in_one_piece() -> None:
    first_sent = asyncio.Event()

    async def burst() -> AsyncIterator[str]:
        yield "a"
        await first_sent.wait()
        for frame in ("b", "c", "d"):  # produced with no pause, as from one socket read
            yield frame

    stream = coalesced(burst())
    assert await anext(stream) == "a"
    first_sent.set()
    await asyncio.sleep(0.05)  # the sender is busy writing "a"
    assert [batch async for batch in stream] == ["bcd"]


async def test_a_frame_leaves_before_the_next_one_exists() -> None:
    second_may_come = asyncio.Event()

    async def slow() -> AsyncIterator[str]:
        yield "first"
        await second_may_come.wait()
        yield "second"

    stream = coalesced(slow())
    assert await asyncio.wait_for(anext(stream), 2) == "first"
    second_may_come.set()
    assert await asyncio.wait_for(anext(stream), 2) == "second"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_an_error_comes_after_the_frames_before_it() -> None:
    async def failing() -> AsyncIterator[str]:
        yield "kept"
        raise ValueError("provider broke")

    stream = coalesced(failing())
    assert await anext(stream) == "kept"
    with pytest.raises(ValueError, match="provider broke"):
        await anext(stream)


async def test_a_sender_that_stops_closes_the_producer() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                yield "x"
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    stream = coalesced(endless())
    await anext(stream)
    await stream.aclose()  # the client went away
    assert closed.is_set()

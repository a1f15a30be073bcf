"""Streaming responses that send what is ready in one write, and never wait for more.

A streamed answer is produced piece by piece, and every piece a ``StreamingResponse`` sends
passes through each middleware's ``send`` and one socket write. When the producer runs ahead of
the sender (a busy process, or a provider read that held many pieces), those fixed costs per
piece decide how many streams a process can carry. ``coalesced`` runs the producer in its own
task and gives the sender everything already produced as one string; when nothing is waiting,
a piece goes out alone as soon as it exists, so no piece is ever held back.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final

__all__ = ["coalesced"]

# Bounds what a producer may run ahead of a slow client (a frame is one piece of an answer).
_MAX_WAITING: Final = 256


class _End:
    """The producer finished; ``error`` is what it raised, if anything."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def coalesced(frames: AsyncIterator[str]) -> AsyncGenerator[str]:
    """``frames`` joined into the batches that were ready together, in order.

    An error of ``frames`` is raised here after the frames before it were given.
    """
    waiting: asyncio.Queue[str | _End] = asyncio.Queue(_MAX_WAITING)
    producer = asyncio.create_task(_produce(frames, waiting))
    try:
        while True:
            batch, end = _drain(await waiting.get(), waiting)
            if batch:
                yield batch
            if end is not None:
                if end.error is not None:
                    raise end.error
                return
    finally:
        producer.cancel()
        # The producer closes ``frames`` itself; wait for that before this generator ends.
        await asyncio.gather(producer, return_exceptions=True)


def _drain(first: str | _End, waiting: "asyncio.Queue[str | _End]") -> tuple[str, _End | None]:
    """The frames ready now, joined, and the end if it came with them."""
    if isinstance(first, _End):
        return "", first
    parts = [first]
    while not waiting.empty():
        item = waiting.get_nowait()
        if isinstance(item, _End):
            return "".join(parts), item
        parts.append(item)
    return "".join(parts), None


async def _produce(frames: AsyncIterator[str], waiting: "asyncio.Queue[str | _End]") -> None:
    end = _End()
    try:
        async for frame in frames:
            await waiting.put(frame)
    except Exception as error:  # noqa: BLE001 - handed to the sender, who raises it
        end = _End(error)
    finally:
        aclose = getattr(frames, "aclose", None)
        if aclose is not None:
            await aclose()
    await waiting.put(end)

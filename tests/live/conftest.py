"""One fixture over every live-bus backend (the litestar way): the same tests run on each."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from frontdesk.live.bus import LiveBus, MemoryBus, RedisBus

BusFactory = Callable[[], LiveBus]


@pytest.fixture(params=["memory", "redis"])
def new_bus(request: pytest.FixtureRequest) -> BusFactory:
    """Makes buses of one backend. Two Redis buses from one factory share a prefix, like two
    API processes on one Redis; two memory buses share nothing, like two processes without it."""
    if request.param == "memory":
        return MemoryBus
    url: str = request.getfixturevalue("redis_url")
    prefix = f"fdtest-{secrets.token_hex(4)}"
    return lambda: RedisBus(url, prefix)


@asynccontextmanager
async def running(bus: LiveBus) -> AsyncIterator[LiveBus]:
    await bus.start()
    if isinstance(bus, RedisBus):
        await asyncio.wait_for(bus.connected.wait(), 5)
    try:
        yield bus
    finally:
        await bus.stop()

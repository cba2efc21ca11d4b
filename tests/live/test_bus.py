from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis

from frontdesk.live.bus import MemoryBus, RedisBus
from tests.live.conftest import BusFactory, running


async def receive(sub: Any, timeout: float = 3.0) -> tuple[str, dict[str, Any]]:
    result: tuple[str, dict[str, Any]] = await asyncio.wait_for(sub.get(), timeout)
    return result


async def nothing_more(sub: Any, wait: float = 0.3) -> bool:
    await asyncio.sleep(wait)
    return sub.queue.empty()


def test_publish_reaches_a_subscriber(new_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with running(new_bus()) as bus, bus.subscribe("conversation:1") as sub:
            bus.publish("conversation:1", {"type": "message", "n": 1})
            assert await receive(sub) == ("conversation:1", {"type": "message", "n": 1})

    asyncio.run(scenario())


def test_channels_are_isolated(new_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with (
            running(new_bus()) as bus,
            bus.subscribe("conversation:1") as one,
            bus.subscribe("conversation:2") as two,
            bus.subscribe("workspace:1", "conversation:2") as both,
        ):
            bus.publish("conversation:2", {"n": 2})
            bus.publish("workspace:1", {"n": 3})
            assert await receive(two) == ("conversation:2", {"n": 2})
            got = {(await receive(both))[1]["n"], (await receive(both))[1]["n"]}
            assert got == {2, 3}
            assert await nothing_more(one)
            assert await nothing_more(two)

    asyncio.run(scenario())


def test_many_subscribers_each_get_every_message_in_order(new_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with running(new_bus()) as bus:
            subs = [bus.subscribe("workspace:9") for _ in range(50)]
            entered = [await s.__aenter__() for s in subs]
            assert bus.hub.subscriber_count() == 50
            for n in range(20):
                bus.publish("workspace:9", {"n": n})
            for sub in entered:
                assert [(await receive(sub))[1]["n"] for _ in range(20)] == list(range(20))
            for s in subs:
                await s.__aexit__(None, None, None)
            assert bus.hub.subscriber_count() == 0

    asyncio.run(scenario())


def test_publish_from_another_thread(new_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with running(new_bus()) as bus, bus.subscribe("conversation:7") as sub:
            threads = [
                threading.Thread(target=bus.publish, args=("conversation:7", {"n": n}))
                for n in range(10)
            ]
            for t in threads:
                t.start()
            await asyncio.to_thread(lambda: [t.join() for t in threads])
            got = sorted([(await receive(sub))[1]["n"] for _ in range(10)])
            assert got == list(range(10))

    asyncio.run(scenario())


def test_a_second_process_gets_messages_only_through_redis(new_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with (
            running(new_bus()) as a,
            running(new_bus()) as b,
            a.subscribe("conversation:5") as on_a,
            b.subscribe("conversation:5") as on_b,
        ):
            b.publish("conversation:5", {"from": "b"})
            assert await receive(on_b) == ("conversation:5", {"from": "b"})
            if isinstance(a, RedisBus):
                assert await receive(on_a) == ("conversation:5", {"from": "b"})
            else:  # two memory buses are two separate worlds
                assert await nothing_more(on_a)
            assert await nothing_more(on_b)  # exactly once

    asyncio.run(scenario())


def test_unreachable_redis_still_delivers_in_this_process(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        bus = RedisBus("redis://127.0.0.1:1/0", "fdtest-down")
        await bus.start()
        try:
            async with bus.subscribe("conversation:1") as sub:
                for n in range(3):
                    bus.publish("conversation:1", {"n": n})  # must not raise
                assert [(await receive(sub))[1]["n"] for _ in range(3)] == [0, 1, 2]
                assert not bus.connected.is_set()
        finally:
            await bus.stop()

    asyncio.run(scenario())
    assert "delivering to this process only" in caplog.text


def test_reconnects_after_the_redis_connection_is_killed(redis_url: str) -> None:
    admin = redis.Redis.from_url(redis_url)

    async def scenario() -> None:
        async with running(RedisBus(redis_url, "fdtest-kill")) as bus:
            assert isinstance(bus, RedisBus)
            async with bus.subscribe("conversation:3") as sub:
                bus.publish("conversation:3", {"n": "before"})
                assert (await receive(sub))[1] == {"n": "before"}

                # Kill only this bus's listener (other test runs share the Redis server).
                ours = [c for c in admin.client_list() if c.get("name") == bus.client_name]
                assert ours, "the listener's connection carries the bus's client name"
                for client in ours:
                    admin.client_kill_filter(_id=client["id"])
                for _ in range(500):  # the listener notices, then retries after 0.5 s
                    if not bus.connected.is_set():
                        break
                    await asyncio.sleep(0.01)
                assert not bus.connected.is_set()

                # Messages published meanwhile still reach this process (delivered locally while
                # the listener reconnects); once reconnected they flow through Redis again.
                bus.publish("conversation:3", {"n": "during"})
                assert (await receive(sub))[1] == {"n": "during"}
                await asyncio.wait_for(bus.connected.wait(), 10)
                assert any(c.get("name") == bus.client_name for c in admin.client_list())
                bus.publish("conversation:3", {"n": "after"})
                assert (await receive(sub))[1] == {"n": "after"}
                assert await nothing_more(sub)

    asyncio.run(scenario())
    admin.close()


def test_memory_bus_needs_no_start() -> None:
    async def scenario() -> None:
        bus = MemoryBus()
        async with bus.subscribe("workspace:1") as sub:
            bus.publish("workspace:1", {"ok": True})
            assert await receive(sub) == ("workspace:1", {"ok": True})

    asyncio.run(scenario())

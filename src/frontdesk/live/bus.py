"""Live updates: publish from any thread, subscribe from async WebSocket handlers.

Two backends behind one interface:

* :class:`MemoryBus`: one process; a publish reaches the subscribers of this process.
* :class:`RedisBus`: several processes; a publish goes through Redis pub/sub and each process
  fans it out to its own subscribers. One Redis connection per process listens, however many
  browsers are connected. If Redis is down, the publish still reaches this process's
  subscribers and the others catch up from the database when they reconnect (clients resume
  from their last sequence number): the database is the source of truth, never the bus.

Channels used by the app: ``conversation:{id}`` (what the customer may see) and
``workspace:{id}`` (everything agents see, notes included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)

QUEUE_LIMIT = 2000


class Subscription:
    """Messages for one subscriber. ``overflowed`` tells a consumer it fell behind and must resync."""

    def __init__(self, channels: frozenset[str], loop: asyncio.AbstractEventLoop) -> None:
        self.channels = channels
        self.loop = loop
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.overflowed = False

    def _put(self, item: tuple[str, dict[str, Any]]) -> None:
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            return
        self.queue.put_nowait(item)

    async def get(self) -> tuple[str, dict[str, Any]]:
        return await self.queue.get()


class LocalHub:
    """Fan-out to this process's subscribers; safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, set[Subscription]] = {}

    def add(self, sub: Subscription) -> None:
        with self._lock:
            for channel in sub.channels:
                self._by_channel.setdefault(channel, set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            for channel in sub.channels:
                subs = self._by_channel.get(channel)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_channel[channel]

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._by_channel.get(channel, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._put, (channel, message))
            except RuntimeError:  # the subscriber's loop is closed: it is going away
                self.remove(sub)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._by_channel.values())


class LiveBus:
    def __init__(self) -> None:
        self.hub = LocalHub()

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every subscriber of ``channel``. Never raises."""
        raise NotImplementedError

    async def start(self) -> None:
        """Begin receiving from other processes (no-op for one process)."""

    async def stop(self) -> None:
        """Stop receiving."""

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        sub = Subscription(frozenset(channels), asyncio.get_running_loop())
        self.hub.add(sub)
        try:
            yield sub
        finally:
            self.hub.remove(sub)


class MemoryBus(LiveBus):
    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.hub.deliver(channel, message)


class RedisBus(LiveBus):
    # After a failed publish, skip Redis for this long (a down Redis must not slow every write).
    RETRY_AFTER = 2.0

    def __init__(self, url: str, prefix: str = "frontdesk") -> None:
        super().__init__()
        import redis

        self.url = url
        self.prefix = f"{prefix}:live:"
        # The listener's connection name, so operators (and tests) can find it in CLIENT LIST.
        self.client_name = f"{prefix}-live-{uuid.uuid4().hex[:8]}"
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._task: asyncio.Task[None] | None = None
        self._listening = False
        self._skip_redis_until = 0.0
        self.connected = asyncio.Event()

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Through Redis to every process (this one included, via its listener). When Redis is
        unreachable, or this process's listener is reconnecting, this process's subscribers get
        it directly; other processes catch up from the database."""
        data = json.dumps(message)
        sent = False
        if time.monotonic() >= self._skip_redis_until:
            try:
                self._redis.publish(self.prefix + channel, data)
                sent = True
            except Exception as exc:
                self._skip_redis_until = time.monotonic() + self.RETRY_AFTER
                log.warning("Redis publish failed (%s); delivering to this process only", exc)
        if not sent or not self._listening:
            self.hub.deliver(channel, message)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="frontdesk-redis-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._redis.close()

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=2, client_name=self.client_name
            )
            try:
                pubsub = client.pubsub()
                await pubsub.psubscribe(self.prefix + "*")
                async for raw in pubsub.listen():
                    if raw.get("type") == "psubscribe":
                        # Confirmed by the server: from now on our own publishes come back here.
                        self._listening = True
                        self.connected.set()
                        if delay > 0.5:
                            log.info("Redis live bus reconnected")
                        delay = 0.5
                        continue
                    if raw.get("type") != "pmessage":
                        continue
                    channel = raw["channel"].decode()[len(self.prefix) :]
                    try:
                        message = json.loads(raw["data"])
                    except ValueError:
                        log.warning("ignored a malformed live message on %s", channel)
                        continue
                    self.hub.deliver(channel, message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening = False
                self.connected.clear()
                log.warning("Redis live bus disconnected (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                self._listening = False
                with contextlib.suppress(Exception):
                    await client.aclose()


def make_bus(redis_url: str, prefix: str = "frontdesk") -> LiveBus:
    return RedisBus(redis_url, prefix) if redis_url else MemoryBus()

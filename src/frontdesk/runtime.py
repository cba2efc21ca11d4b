"""What one process runs on: database, live bus, rate limiter and job queue, built from settings.

The web app, the worker and the CLI each build one :class:`Runtime` at start-up and install it
with :func:`install`; background jobs reach it through :func:`current`. Database sessions carry
it too (``session.info["runtime"]``), which is how actions publish live updates after a commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from frontdesk.config import Settings
from frontdesk.jobs.queue import JobQueue, build_huey
from frontdesk.live.bus import LiveBus, make_bus
from frontdesk.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from frontdesk.store.database import Database
from frontdesk.store.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: LiveBus
    limiter: RateLimiter
    jobs: JobQueue

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        url = settings.effective_database_url
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            upgrade(url)
        db = Database(url)
        if settings.redis_url:
            limiter: RateLimiter = RedisRateLimiter(settings.redis_url, settings.redis_prefix)
        else:
            limiter = MemoryRateLimiter()
        runtime = cls(
            settings=settings,
            db=db,
            bus=make_bus(settings.redis_url, settings.redis_prefix),
            limiter=limiter,
            jobs=JobQueue(build_huey(settings)),
        )
        db.session_info["runtime"] = runtime
        return runtime

    def close(self) -> None:
        self.jobs.stop_consumer()
        self.db.dispose()


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no Frontdesk runtime is installed in this process")
    return _current

"""What one process runs on: database, live bus, rate limiter and job queue, built from settings.

The web app, the worker and the CLI each build one :class:`Runtime` at start-up and install it
with :func:`install`; background jobs reach it through :func:`current`. Database sessions carry
it too (``session.info["runtime"]``), which is how actions publish live updates after a commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from frontdesk.automation import (  # noqa: F401  (register their event listeners)
    sla,
    surveys,
)
from frontdesk.channels import waterfall  # noqa: F401  (registers its event listener)
from frontdesk.channels.email import replies  # noqa: F401  (registers its event listener)
from frontdesk.config import Settings
from frontdesk.jobs.queue import JobQueue, build_huey
from frontdesk.knowledge import learning  # noqa: F401  (registers its event listener)
from frontdesk.knowledge.embedders import E5Embedder, Embedder, HashingEmbedder, UseEmbedder
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.live.bus import LiveBus, make_bus
from frontdesk.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from frontdesk.routing import assignment  # noqa: F401  (registers its event listener)
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
    knowledge: KnowledgeRegistry

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
            knowledge=KnowledgeRegistry(
                embedders=knowledge_embedders(settings.knowledge_models),
                # fake vectors never go into the real models' cache files
                cache_dir=None if is_fake_models(settings) else settings.data_dir / "vectors",
            ),
        )
        db.session_info["runtime"] = runtime
        return runtime

    def close(self) -> None:
        global _current
        self.jobs.stop_consumer()
        self.db.dispose()
        if _current is self:  # a closed runtime is nobody's current one (jobs would reopen it)
            _current = None


def is_fake_models(settings: Settings) -> bool:
    return settings.knowledge_models.strip().lower() == "hashing"


def knowledge_embedders(names: str) -> list[Embedder]:
    """The embedders FRONTDESK_KNOWLEDGE_MODELS names: ``e5,use`` (default) or ``hashing``."""
    wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
    if wanted == ["hashing"]:
        return [HashingEmbedder("e5"), HashingEmbedder("use")]
    factories: dict[str, Callable[[], Embedder]] = {"e5": E5Embedder, "use": UseEmbedder}
    unknown = [n for n in wanted if n not in factories]
    if unknown or not wanted:
        raise ValueError(
            f"FRONTDESK_KNOWLEDGE_MODELS={names!r}: use e5, use (comma-separated) or hashing."
        )
    return [factories[n]() for n in wanted]


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no Frontdesk runtime is installed in this process")
    return _current

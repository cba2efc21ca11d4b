"""The job queue: huey on a SQLite file by default, on Redis when FRONTDESK_REDIS_URL is set.

Without Redis, ``frontdesk serve`` runs the consumer in its own process (worker threads).
With Redis, separate ``frontdesk worker`` processes consume, and every API process enqueues.
"""

from __future__ import annotations

import logging
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.jobs import catalog
from frontdesk.jobs.registry import JOBS
from frontdesk.store.database import after_commit

log = logging.getLogger(__name__)


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(name=f"{settings.redis_prefix}-jobs", url=settings.redis_url, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name="frontdesk-jobs", filename=str((settings.data_dir / "jobs.db").resolve()), utc=True
    )


class InProcessConsumer(Consumer):  # type: ignore[misc]
    """A consumer living inside the web server: the server, not huey, owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


CONSUMER_OPTIONS: dict[str, Any] = {
    "worker_type": "thread",
    "periodic": True,
    "initial_delay": 0.1,
    "max_delay": 1.0,
    "check_worker_health": True,
}


class JobQueue:
    def __init__(self, huey: Huey) -> None:
        catalog.load_all()
        self.huey = huey
        self._tasks: dict[str, TaskWrapper] = {}
        for spec in JOBS.values():
            if spec.schedule:
                self._tasks[spec.name] = huey.periodic_task(
                    crontab(**spec.schedule), name=spec.name
                )(spec.function)
            else:
                self._tasks[spec.name] = huey.task(
                    name=spec.name, retries=spec.retries, retry_delay=spec.retry_delay
                )(spec.function)
        self._consumer: Any = None

    def enqueue(self, name: str, *args: Any, delay: float | None = None) -> None:
        task = self._tasks[name]
        if delay:
            task.schedule(args=args, delay=delay)
        else:
            task(*args)

    def enqueue_after_commit(
        self, session: Session, name: str, *args: Any, delay: float | None = None
    ) -> None:
        """Enqueue once ``session`` commits. If the queue is unreachable the job is only logged
        here: every job's data lives in the database, and a periodic sweep re-enqueues it."""

        def send() -> None:
            try:
                self.enqueue(name, *args, delay=delay)
            except Exception as exc:
                log.warning("could not enqueue %s%r (%s); the sweep will retry", name, args, exc)

        after_commit(session, send)

    def start_consumer(self, workers: int) -> None:
        """Run the consumer inside this process (threads), until :meth:`stop_consumer`."""
        self._consumer = InProcessConsumer(self.huey, workers=workers, **CONSUMER_OPTIONS)
        self._consumer.start()
        log.info("job consumer started in-process with %d worker threads", workers)

    def stop_consumer(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def run_consumer(self, workers: int) -> None:
        """Run the consumer in the foreground (``frontdesk worker``)."""
        self.huey.create_consumer(workers=workers, **CONSUMER_OPTIONS).run()

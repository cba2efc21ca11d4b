"""Background jobs are plain functions registered by name, bound to a queue at start-up.

    @job("deliver_webhook", retries=0)
    def deliver_webhook(delivery_id: str) -> None: ...

    @periodic("sweep_webhooks", minutes="*")
    def sweep_webhooks() -> None: ...

A job gets what it needs (database, bus) from :func:`frontdesk.runtime.current`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JobFunction = Callable[..., Any]


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    retries: int = 0
    retry_delay: int = 10
    # crontab fields, for periodic jobs
    schedule: dict[str, str] = field(default_factory=dict)


JOBS: dict[str, JobSpec] = {}


def job(
    name: str, *, retries: int = 0, retry_delay: int = 10
) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        JOBS[name] = JobSpec(name, function, retries, retry_delay)
        return function

    return register


def periodic(name: str, **crontab: str) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        JOBS[name] = JobSpec(name, function, schedule=crontab or {"minute": "*"})
        return function

    return register

"""Job-queue tests against the real services: PostgreSQL for the data, Redis for the queue,
and ``frontdesk worker`` subprocesses consuming it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from frontdesk.config import Settings
from frontdesk.runtime import Runtime, install
from tests.conftest import _truncate_postgres, make_settings
from tests.scale.processes import Process, frontdesk_env, start_worker
from tests.webhooks.receiver import Receiver, run_receiver

WEBHOOK_SETTINGS = {
    "webhook_allow_private": "true",  # the receiver listens on loopback
    "webhook_max_attempts": "3",
    "webhook_retry_base_seconds": "0.5",
    "webhook_timeout_seconds": "2",
}


@pytest.fixture
def scale_settings(tmp_path: Path, postgres_url: str, redis_url: str) -> Settings:
    _truncate_postgres(postgres_url)
    return make_settings(
        tmp_path,
        postgres_url,
        redis_url=redis_url,
        redis_prefix=f"fdtest-{secrets.token_hex(4)}",
        **WEBHOOK_SETTINGS,
    )


@pytest.fixture
def scale_runtime(scale_settings: Settings) -> Iterator[Runtime]:
    """This test process: it enqueues into Redis; workers elsewhere run the jobs."""
    rt = Runtime.build(scale_settings, migrate=False)
    install(rt)
    yield rt
    rt.jobs.huey.flush()  # leave no queue keys behind in the shared Redis
    rt.close()


@pytest.fixture
def workers(scale_settings: Settings, tmp_path: Path) -> Iterator[Callable[[str], Process]]:
    env = frontdesk_env(
        data_dir=str(tmp_path / "worker-data"),
        database_url=scale_settings.database_url,
        redis_url=scale_settings.redis_url,
        redis_prefix=scale_settings.redis_prefix,
        secret_key="test-secret-key",
        **WEBHOOK_SETTINGS,
    )
    started: list[Process] = []

    def spawn(name: str) -> Process:
        proc = start_worker(name, env, tmp_path)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        proc.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as r:
        yield r

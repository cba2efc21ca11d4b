from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.config import Settings
from frontdesk.runtime import Runtime, install
from tests.conftest import make_settings
from tests.webhooks.receiver import Receiver, run_receiver


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # Receivers listen on loopback here, which only this setting permits.
    return make_settings(
        tmp_path,
        database_url,
        webhook_allow_private=True,
        webhook_max_attempts=3,
        webhook_timeout_seconds=2.0,
        webhook_retry_base_seconds=10.0,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings, migrate=False)
    rt.jobs.huey.immediate = True  # jobs run inline, right after the commit that enqueues them
    install(rt)
    yield rt
    rt.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as r:
        yield r

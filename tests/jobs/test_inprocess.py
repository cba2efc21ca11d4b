"""One process, no Redis: huey on a SQLite file, consumer threads started by the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from huey import SqliteHuey
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import WebhookDelivery, Workspace
from frontdesk.web.app import create_app
from frontdesk.webhooks.endpoints import create_endpoint
from tests.conftest import make_settings
from tests.factories import make_customer, make_message, make_workspace
from tests.webhooks.receiver import Receiver


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'one.db'}",
        run_jobs_in_process=True,
        webhook_allow_private=True,
        webhook_max_attempts=3,
        webhook_retry_base_seconds=0.3,
        webhook_timeout_seconds=2,
    )
    runtime = Runtime.build(settings)
    with TestClient(create_app(runtime)):  # the lifespan starts the consumer threads
        yield runtime
    runtime.close()


def write_with_webhook(runtime: Runtime, url: str) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        create_endpoint(s, ws, url=url, event_types=["message_received"])
    with runtime.db.write() as s:
        ws = s.get_one(Workspace, ws.id)
        make_message(s, ws, make_customer(s, ws))


def wait_for_status(runtime: Runtime, status: str, timeout: float = 20) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while True:
        with runtime.db.read() as s:
            row = s.scalars(select(WebhookDelivery)).one()
        if row.status == status or time.monotonic() > deadline:
            assert row.status == status, (row.status, row.attempts, row.last_error)
            return row
        time.sleep(0.05)


def test_the_server_runs_jobs_itself_on_sqlite(served: Runtime, receiver: Receiver) -> None:
    assert isinstance(served.jobs.huey, SqliteHuey) and not served.jobs.huey.immediate
    assert (served.settings.data_dir / "jobs.db").exists()
    write_with_webhook(served, receiver.url)
    [request] = receiver.wait_for(1)
    row = wait_for_status(served, "delivered")
    assert request.headers["x-frontdesk-delivery"] == row.id


def test_in_process_retries_then_dead(served: Runtime, receiver: Receiver) -> None:
    receiver.default_status = 502
    write_with_webhook(served, receiver.url)
    row = wait_for_status(served, "dead")
    assert row.attempts == 3 and len(receiver.wait_for(3)) == 3

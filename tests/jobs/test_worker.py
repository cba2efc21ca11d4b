"""Jobs enqueued by one process run in separate `frontdesk worker` processes (Redis mode)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import WebhookDelivery, Workspace
from frontdesk.webhooks.delivery import sweep
from frontdesk.webhooks.endpoints import create_endpoint
from tests.factories import make_customer, make_message, make_workspace
from tests.scale.processes import Process
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def customer_writes_with_webhook(runtime: Runtime, url: str) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        create_endpoint(s, ws, url=url, event_types=["message_received"])
    with runtime.db.write() as s:
        ws = s.get_one(Workspace, ws.id)
        make_message(s, ws, make_customer(s, ws))


def wait_for_status(runtime: Runtime, status: str, timeout: float = 30) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while True:
        with runtime.db.read() as s:
            row = s.scalars(select(WebhookDelivery)).one()
        if row.status == status or time.monotonic() > deadline:
            assert row.status == status, (row.status, row.attempts, row.last_error)
            return row
        time.sleep(0.1)


def test_a_job_enqueued_here_runs_in_a_worker_process(
    scale_runtime: Runtime, workers: Callable[[str], Process], receiver: Receiver
) -> None:
    assert not scale_runtime.jobs.huey.immediate
    worker = workers("worker-1")
    customer_writes_with_webhook(scale_runtime, receiver.url)
    [request] = receiver.wait_for(1)
    row = wait_for_status(scale_runtime, "delivered")
    assert request.headers["x-frontdesk-delivery"] == row.id and row.attempts == 1
    assert "deliver_webhook" in worker.output()


def test_a_failing_job_is_retried_with_backoff_then_dead(
    scale_runtime: Runtime, workers: Callable[[str], Process], receiver: Receiver
) -> None:
    receiver.default_status = 500
    workers("worker-1")
    customer_writes_with_webhook(scale_runtime, receiver.url)
    row = wait_for_status(scale_runtime, "dead")
    requests = receiver.wait_for(3)
    time.sleep(1.5)
    assert len(receiver.requests) == 3  # max attempts, then no more
    assert row.attempts == 3 and row.last_status_code == 500 and row.delivered_at is None
    assert {r.headers["x-frontdesk-delivery"] for r in requests} == {row.id}
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.25 for gap in gaps), gaps  # waited (base 0.5 s, then doubled)


def test_a_worker_killed_mid_delivery_is_replaced_and_the_delivery_sent_again(
    scale_runtime: Runtime, workers: Callable[[str], Process], receiver: Receiver
) -> None:
    receiver.delay = 60  # the receiver holds the first request: the worker is mid-send
    first = workers("worker-1")
    customer_writes_with_webhook(scale_runtime, receiver.url)
    receiver.wait_for(1)
    first.kill()  # SIGKILL mid-delivery: the job is gone from the queue
    receiver.release.set()
    receiver.delay = 0
    workers("worker-2")

    # Leased (2 × 2 s timeout + 5 s): nothing is due until the lease expires; then the
    # every-minute sweep (run here rather than waiting for the minute) enqueues it again.
    assert sweep(scale_runtime) == 0
    deadline = time.monotonic() + 20
    while sweep(scale_runtime) == 0:
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.5)
    row = wait_for_status(scale_runtime, "delivered")
    requests = receiver.wait_for(2)
    assert len(requests) == 2 and row.attempts == 2
    # The receiver sees the same delivery id twice and can apply the effect once.
    assert {r.headers["x-frontdesk-delivery"] for r in requests} == {row.id}
    assert requests[0].body == requests[1].body


def test_the_sweep_is_a_periodic_job_of_the_queue(scale_runtime: Runtime) -> None:
    periodic = {task.name for task in scale_runtime.jobs.huey._registry.periodic_tasks}
    assert "sweep_webhooks" in periodic

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from huey import RedisHuey
from sqlalchemy import func, select

from frontdesk.conversations.actions import access_conversation, do_send_agent_reply
from frontdesk.errors import Conflict, NotFound
from frontdesk.jobs.backoff import MAX_BACKOFF_SECONDS, retry_delay
from frontdesk.jobs.queue import JobQueue
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, WebhookDelivery, Workspace, utcnow
from frontdesk.webhooks.delivery import (
    attempt_delivery,
    claim,
    dead_deliveries,
    replay_delivery,
    sweep,
)
from frontdesk.webhooks.endpoints import access_endpoint, create_endpoint, update_endpoint
from frontdesk.webhooks.signing import verify_signature
from tests.factories import make_agent, make_customer, make_message, make_workspace
from tests.webhooks.receiver import Receiver


def setup_endpoint(runtime: Runtime, url: str, types: list[str] | None = None) -> tuple[int, int]:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        endpoint = create_endpoint(s, ws, url=url, event_types=types)
        return ws.id, endpoint.id


def customer_writes(runtime: Runtime, workspace_id: int, text: str = "Hello") -> int:
    with runtime.db.write() as s:
        ws = s.get_one(Workspace, workspace_id)
        return make_message(s, ws, make_customer(s, ws), text).conversation_id


def deliveries(runtime: Runtime) -> list[WebhookDelivery]:
    with runtime.db.read() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def test_event_is_delivered_signed_with_a_stable_id(runtime: Runtime, receiver: Receiver) -> None:
    ws_id, endpoint_id = setup_endpoint(runtime, receiver.url, ["message_received"])
    conversation_id = customer_writes(runtime, ws_id, "<b>Where is my order?</b>")

    [request] = receiver.wait_for(1)
    with runtime.db.read() as s:
        secret = access_endpoint(s, ws_id, endpoint_id).secret
    [delivery] = deliveries(runtime)
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None

    h = request.headers
    assert h["content-type"] == "application/json"
    assert h["x-frontdesk-event"] == "message_received"
    assert h["x-frontdesk-delivery"] == delivery.id
    assert verify_signature(
        secret, h["x-frontdesk-timestamp"], request.body, h["x-frontdesk-signature"]
    )
    body = json.loads(request.body)
    assert body["id"] == delivery.id and body["type"] == "message_received"
    assert body["workspace"]["id"] == ws_id and body["workspace"]["slug"]
    assert body["data"]["conversation_id"] == conversation_id
    assert body["data"]["type"] == "message_received" and body["created_at"]
    assert request.path == "/hook"


def test_filter_and_inactive_endpoints(runtime: Runtime, receiver: Receiver) -> None:
    ws_id, endpoint_id = setup_endpoint(runtime, receiver.url, ["agent_replied"])
    with runtime.db.write() as s:
        ws = s.get_one(Workspace, ws_id)
        every = create_endpoint(s, ws, url=receiver.url + "?all")
        off = create_endpoint(s, ws, url=receiver.url + "?off")
        update_endpoint(s, off, active=False)
        agent = make_agent(s, ws)
        conversation_id = make_message(s, ws, make_customer(s, ws)).conversation_id
        agent_id = every.id, agent.id
    with runtime.db.write() as s:
        conversation = access_conversation(s, ws_id, conversation_id)
        do_send_agent_reply(s, conversation, s.get_one(Agent, agent_id[1]), body="Hi!")
    rows = deliveries(runtime)
    by_endpoint: dict[int, list[str]] = {}
    for row in rows:
        by_endpoint.setdefault(row.endpoint_id, []).append(row.event_type)
    assert by_endpoint[endpoint_id] == ["agent_replied"]
    assert "agent_replied" in by_endpoint[agent_id[0]]
    assert "message_received" in by_endpoint[agent_id[0]]
    assert off.id not in by_endpoint
    assert all(r.status == "delivered" for r in rows)
    assert len(receiver.requests) == len(rows)
    assert not any("off" in r.path for r in receiver.requests)


def test_outbox_row_shares_the_event_transaction(runtime: Runtime, receiver: Receiver) -> None:
    ws_id, _ = setup_endpoint(runtime, receiver.url)
    with pytest.raises(RuntimeError), runtime.db.write() as s:
        ws = s.get_one(Workspace, ws_id)
        make_message(s, ws, make_customer(s, ws))
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
        raise RuntimeError("the transaction fails after the event")
    assert deliveries(runtime) == []
    assert receiver.requests == []


def test_failures_retry_with_the_same_id_then_go_dead_and_replay(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.default_status = 500
    ws_id, _ = setup_endpoint(runtime, receiver.url, ["message_received"])
    customer_writes(runtime, ws_id)
    [delivery] = deliveries(runtime)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500"
    first_wait = (delivery.next_attempt_at - utcnow()).total_seconds()
    assert 4 <= first_wait <= 10.5  # retry_base 10 s with jitter

    # Not due yet: nothing is sent.
    assert attempt_delivery(runtime, delivery.id) == "skipped"
    assert len(receiver.requests) == 1

    later = utcnow() + timedelta(seconds=30)
    assert attempt_delivery(runtime, delivery.id, now=later) == "pending"
    second = deliveries(runtime)[0]
    assert (second.next_attempt_at - later).total_seconds() >= 9.9  # doubled: 10..20 s
    assert attempt_delivery(runtime, delivery.id, now=later + timedelta(hours=1)) == "dead"
    assert attempt_delivery(runtime, delivery.id, now=later + timedelta(hours=2)) == "skipped"

    assert len(receiver.requests) == 3
    assert {r.headers["x-frontdesk-delivery"] for r in receiver.requests} == {delivery.id}
    assert len({r.body for r in receiver.requests}) == 1  # the same body every time
    with runtime.db.read() as s:
        [dead] = dead_deliveries(s)
        assert dead.id == delivery.id and dead.attempts == 3
        assert dead_deliveries(s, workspace_id=ws_id + 1000) == []

    receiver.default_status = 204
    with runtime.db.write() as s:
        replay_delivery(s, delivery.id, workspace_id=ws_id)  # enqueued (and run) after commit
    [done] = deliveries(runtime)
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 1, 204)
    assert receiver.requests[-1].headers["x-frontdesk-delivery"] == delivery.id

    with pytest.raises(Conflict), runtime.db.write() as s:
        replay_delivery(s, delivery.id)
    with pytest.raises(NotFound), runtime.db.write() as s:
        replay_delivery(s, "no-such-delivery")
    with pytest.raises(NotFound), runtime.db.write() as s:
        replay_delivery(s, delivery.id, workspace_id=ws_id + 1000)


def test_redirects_are_not_followed(runtime: Runtime, receiver: Receiver) -> None:
    from tests.webhooks.receiver import run_receiver

    with run_receiver() as inner:
        receiver.default_status = 302
        receiver.location = inner.url
        ws_id, _ = setup_endpoint(runtime, receiver.url)
        customer_writes(runtime, ws_id)
        rows = deliveries(runtime)
        assert rows and all(r.status == "pending" and r.last_status_code == 302 for r in rows)
        assert "redirects are not followed" in (rows[0].last_error or "")
        assert inner.requests == []


def test_slow_receiver_times_out_and_is_retried(runtime: Runtime, receiver: Receiver) -> None:
    receiver.delay = 3.0  # the timeout is 2 s in these tests
    ws_id, _ = setup_endpoint(runtime, receiver.url, ["conversation_created"])
    customer_writes(runtime, ws_id)
    [row] = deliveries(runtime)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "no answer within 2 seconds"


def test_url_is_vetted_again_when_sending(runtime: Runtime, receiver: Receiver) -> None:
    ws_id, _ = setup_endpoint(runtime, receiver.url, ["message_received"])
    runtime.settings.webhook_allow_private = False  # saved while allowed; no longer
    customer_writes(runtime, ws_id)
    [row] = deliveries(runtime)
    assert row.status == "pending" and "loopback" in (row.last_error or "")
    assert receiver.requests == []


def test_unreachable_queue_loses_nothing_and_the_sweep_catches_up(
    runtime: Runtime, receiver: Receiver
) -> None:
    working = runtime.jobs
    runtime.jobs = JobQueue(RedisHuey(name="fd-down", url="redis://127.0.0.1:1/0"))
    ws_id, _ = setup_endpoint(runtime, receiver.url, ["message_received"])
    customer_writes(runtime, ws_id)  # commits although the enqueue fails
    [row] = deliveries(runtime)
    assert row.status == "pending" and row.attempts == 0
    assert receiver.requests == []

    runtime.jobs = working
    assert sweep(runtime) == 1
    assert deliveries(runtime)[0].status == "delivered"
    assert len(receiver.requests) == 1
    assert sweep(runtime) == 0


def test_claim_is_exclusive_until_the_lease_expires(runtime: Runtime, receiver: Receiver) -> None:
    runtime.jobs.huey.immediate = False  # nothing runs by itself
    ws_id, _ = setup_endpoint(runtime, receiver.url, ["message_received"])
    customer_writes(runtime, ws_id)
    [row] = deliveries(runtime)
    now = utcnow()
    first = claim(runtime, row.id, now)
    assert first is not None and first.attempt == 1
    assert claim(runtime, row.id, now) is None  # a second worker gets nothing
    assert sweep(runtime, now=now) == 0  # leased: not due
    expired = now + timedelta(seconds=10)  # lease: 2 × 2 s timeout + 5 s
    assert sweep(runtime, now=expired) == 1
    again = claim(runtime, row.id, expired)
    assert again is not None and again.attempt == 2 and again.delivery_id == first.delivery_id


def test_retry_delay_is_bounded_exponential_with_jitter() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, 10.0, jitter=rng) for n in range(1, 20)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(MAX_BACKOFF_SECONDS, 10.0 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= MAX_BACKOFF_SECONDS
    assert len({round(d, 6) for d in delays[12:]}) > 1  # jittered, even at the cap


def test_a_delivery_for_a_disabled_endpoint_is_not_sent(
    runtime: Runtime, receiver: Receiver
) -> None:
    runtime.jobs.huey.immediate = False
    ws_id, endpoint_id = setup_endpoint(runtime, receiver.url, ["message_received"])
    customer_writes(runtime, ws_id)
    with runtime.db.write() as s:
        update_endpoint(s, access_endpoint(s, ws_id, endpoint_id), active=False)
    [row] = deliveries(runtime)
    assert attempt_delivery(runtime, row.id) == "skipped"
    [row] = deliveries(runtime)
    assert row.status == "dead" and row.last_error == "the endpoint was disabled"
    assert receiver.requests == []

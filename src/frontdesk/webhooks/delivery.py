"""Delivering webhooks: an outbox in the database, worked through by jobs.

1. :func:`record_deliveries` listens to every appended event (``on_event``) and, in the same
   transaction, adds one :class:`WebhookDelivery` row per matching active endpoint. After the
   commit it enqueues ``deliver_webhook(delivery_id)``; if the queue is unreachable that is only
   logged: the row is safe and ``sweep_webhooks`` (every minute) enqueues what is due.
2. ``deliver_webhook`` claims the row with a conditional UPDATE (pending and due → attempts+1
   and a lease: ``next_attempt_at`` pushed past the send timeout), so one worker sends it at a
   time. A worker killed mid-send leaves the row pending; when the lease expires the sweep
   enqueues it again and it is sent again with the *same* delivery id, so receivers
   de-duplicate on ``X-Frontdesk-Delivery``.
3. The POST is signed (:mod:`frontdesk.webhooks.signing`), sent to the re-vetted address with a
   timeout and without following redirects. 2xx → ``delivered``; anything else → retried with
   bounded exponential backoff and jitter; after ``webhook_max_attempts`` → ``dead``, listed by
   ``frontdesk webhooks dead`` and put back with ``frontdesk webhooks replay ID``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.conversations.events import event_payload, on_event
from frontdesk.errors import Conflict, NotFound
from frontdesk.jobs.backoff import retry_delay
from frontdesk.jobs.registry import job, periodic
from frontdesk.store.models import (
    ConversationEvent,
    WebhookDelivery,
    WebhookEndpoint,
    Workspace,
    utcnow,
)
from frontdesk.webhooks.endpoints import active_endpoints
from frontdesk.webhooks.signing import compute_signature
from frontdesk.webhooks.urlcheck import UnsafeURL, vet_url

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

log = logging.getLogger(__name__)

USER_AGENT = "Frontdesk-Webhooks/1"
SWEEP_BATCH = 500
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def _matches(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


@on_event
def record_deliveries(session: Session, event: ConversationEvent) -> None:
    """Add the outbox rows for ``event`` in its own transaction; enqueue them after commit."""
    endpoints = [
        e for e in active_endpoints(session, event.workspace_id) if _matches(e, event.type)
    ]
    if not endpoints:
        return
    workspace = session.get(Workspace, event.workspace_id)
    data = event_payload(event)
    runtime = session.info.get("runtime")
    for endpoint in endpoints:
        delivery_id = str(uuid.uuid4())
        body = {
            "id": delivery_id,
            "type": event.type,
            "created_at": event.created_at.isoformat(),
            "workspace": {
                "id": event.workspace_id,
                "slug": workspace.slug if workspace is not None else None,
            },
            "data": data,
        }
        session.add(
            WebhookDelivery(
                id=delivery_id,
                workspace_id=event.workspace_id,
                endpoint_id=endpoint.id,
                event_id=event.id,
                event_type=event.type,
                payload=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=event.created_at,
                created_at=event.created_at,
            )
        )
        if runtime is not None:
            runtime.jobs.enqueue_after_commit(session, "deliver_webhook", delivery_id)


def lease_seconds(timeout: float) -> float:
    """How long a claimed delivery stays invisible to other workers: past any send timeout."""
    return timeout * 2 + 5


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed); the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    attempt: int
    url: str
    secret: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None
    error: str | None


def claim(runtime: Runtime, delivery_id: str, now: datetime) -> Claimed | None:
    """Take the delivery if it is pending and due; None if another worker has it, it is not
    due yet, or it is finished."""
    lease = timedelta(seconds=lease_seconds(runtime.settings.webhook_timeout_seconds))
    with runtime.db.write() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
        assert delivery is not None
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            delivery.status = DEAD
            delivery.last_error = "the endpoint was disabled"
            return None
        return Claimed(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            url=endpoint.url,
            secret=endpoint.secret,
            event_type=delivery.event_type,
            payload=dict(delivery.payload),
        )


def send(claimed: Claimed, *, timeout: float, allow_private: bool) -> SendResult:
    """POST the delivery to the freshly vetted address; never follows redirects."""
    try:
        target = vet_url(claimed.url, allow_private=allow_private)
    except UnsafeURL as exc:
        return SendResult(False, None, exc.message)
    body = body_bytes(claimed.payload)
    timestamp = int(time.time())
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Frontdesk-Event": claimed.event_type,
        "X-Frontdesk-Delivery": claimed.delivery_id,
        "X-Frontdesk-Timestamp": str(timestamp),
        "X-Frontdesk-Signature": compute_signature(claimed.secret, timestamp, body),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", target.pinned_url(), content=body, headers=headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            response.close()
    except httpx.TimeoutException:
        return SendResult(False, None, f"no answer within {timeout:g} seconds")
    except httpx.HTTPError as exc:
        return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(True, code, None)
    if 300 <= code < 400:
        return SendResult(False, code, f"HTTP {code}: redirects are not followed")
    return SendResult(False, code, f"HTTP {code}")


def record_result(runtime: Runtime, claimed: Claimed, result: SendResult, now: datetime) -> str:
    """Store the outcome; return the new status. Ignored if the lease was lost meanwhile."""
    settings = runtime.settings
    with runtime.db.write() as session:
        values: dict[str, Any] = {"last_status_code": result.status_code}
        if result.ok:
            status = DELIVERED
            values.update(status=DELIVERED, delivered_at=now, last_error=None)
        elif claimed.attempt >= settings.webhook_max_attempts:
            status = DEAD
            values.update(status=DEAD, last_error=result.error)
        else:
            status = PENDING
            delay = retry_delay(claimed.attempt, settings.webhook_retry_base_seconds)
            values.update(last_error=result.error, next_attempt_at=now + timedelta(seconds=delay))
        updated = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claimed.delivery_id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.attempts == claimed.attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(updated, "rowcount", 0) != 1:
            log.warning(
                "delivery %s changed hands while sending; result dropped", claimed.delivery_id
            )
            return "lost"
        if status == PENDING:
            runtime.jobs.enqueue_after_commit(
                session, "deliver_webhook", claimed.delivery_id, delay=delay
            )
    if status == DEAD:
        log.warning(
            "webhook delivery %s is dead after %d attempts: %s",
            claimed.delivery_id,
            claimed.attempt,
            result.error,
        )
    return status


def attempt_delivery(runtime: Runtime, delivery_id: str, *, now: datetime | None = None) -> str:
    """One attempt: claim, send, record. Returns the resulting status, or ``skipped``."""
    now = now or utcnow()
    claimed = claim(runtime, delivery_id, now)
    if claimed is None:
        return "skipped"
    settings = runtime.settings
    result = send(
        claimed,
        timeout=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private,
    )
    return record_result(runtime, claimed, result, max(now, utcnow()))


@job("deliver_webhook")
def deliver_webhook(delivery_id: str) -> None:
    from frontdesk.runtime import current

    attempt_delivery(current(), delivery_id)


def due_deliveries(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[str]:
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def sweep(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Enqueue every due pending delivery (enqueues lost while Redis was down, expired leases)."""
    with runtime.db.read() as session:
        ids = due_deliveries(session, now or utcnow())
    for delivery_id in ids:
        runtime.jobs.enqueue("deliver_webhook", delivery_id)
    if ids:
        log.info("webhook sweep enqueued %d due deliveries", len(ids))
    return len(ids)


@periodic("sweep_webhooks", minute="*")
def sweep_webhooks() -> None:
    from frontdesk.runtime import current

    sweep(current())


# The dead-letter list, for operators.


def dead_deliveries(
    session: Session, *, workspace_id: int | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.status == DEAD)
    if workspace_id is not None:
        query = query.where(WebhookDelivery.workspace_id == workspace_id)
    query = query.order_by(WebhookDelivery.created_at.desc()).limit(limit)
    return list(session.scalars(query))


def replay_delivery(
    session: Session, delivery_id: str, *, workspace_id: int | None = None
) -> WebhookDelivery:
    """Put a dead delivery back to pending with fresh attempts; it is enqueued after commit
    and keeps its id, so the receiver can still de-duplicate."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or (workspace_id is not None and delivery.workspace_id != workspace_id):
        raise NotFound(f"Webhook delivery {delivery_id} was not found.")
    if delivery.status != DEAD:
        raise Conflict(
            f"Webhook delivery {delivery_id} is {delivery.status}; only dead deliveries "
            "can be replayed."
        )
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.last_error = None
    delivery.last_status_code = None
    session.flush()
    runtime = session.info.get("runtime")
    if runtime is not None:
        runtime.jobs.enqueue_after_commit(session, "deliver_webhook", delivery.id)
    return delivery

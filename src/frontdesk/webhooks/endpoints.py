"""Webhook endpoints of a workspace: where to POST which events (F36).

The API and admin screens call these; each takes the caller's write session and never commits.
A URL is vetted here when saved (:mod:`frontdesk.webhooks.urlcheck`) and again before each send.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.store.models import WebhookEndpoint, Workspace, utcnow
from frontdesk.webhooks.signing import new_secret
from frontdesk.webhooks.urlcheck import vet_url

# Event types an endpoint may subscribe to; later features add theirs with register_event_type.
EVENT_TYPES: set[str] = {
    "conversation_created",
    "message_received",
    "agent_replied",
    "note_added",
    "bot_replied",
    "system_message",
    "assigned",
    "reassigned",
    "unassigned",
    "team_changed",
    "status_changed",
    "priority_changed",
    "tags_changed",
    "customer_updated",
}
MAX_ENDPOINTS_PER_WORKSPACE = 20

# Active endpoints per workspace, cached for the length of one transaction (session.info).
_CACHE_KEY = "frontdesk_webhook_endpoints"


def register_event_type(name: str) -> None:
    EVENT_TYPES.add(name)


def allow_private(session: Session) -> bool:
    runtime = session.info.get("runtime")
    return bool(runtime is not None and runtime.settings.webhook_allow_private)


def _clean_event_types(event_types: Iterable[str] | None) -> list[str]:
    if event_types is None:
        return []
    if isinstance(event_types, str):
        raise InvalidInput("event_types must be a list of event type names.")
    cleaned: list[str] = []
    for name in event_types:
        if not isinstance(name, str) or name not in EVENT_TYPES:
            known = ", ".join(sorted(EVENT_TYPES))
            raise InvalidInput(f"Unknown event type {name!r}. Known types: {known}.")
        if name not in cleaned:
            cleaned.append(name)
    return sorted(cleaned)


def _forget_cache(session: Session) -> None:
    session.info.pop(_CACHE_KEY, None)


def create_endpoint(
    session: Session,
    workspace: Workspace,
    *,
    url: str,
    event_types: Iterable[str] | None = None,
    active: bool = True,
) -> WebhookEndpoint:
    """Add an endpoint receiving ``event_types`` (empty: every type), with a new secret."""
    vetted = vet_url(url, allow_private=allow_private(session))
    types = _clean_event_types(event_types)
    count = len(list_endpoints(session, workspace.id))
    if count >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise InvalidInput(
            f"A workspace can have at most {MAX_ENDPOINTS_PER_WORKSPACE} webhook endpoints; "
            "delete one first."
        )
    endpoint = WebhookEndpoint(
        workspace_id=workspace.id,
        url=vetted.url,
        secret=new_secret(),
        event_types=types,
        active=active,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    _forget_cache(session)
    return endpoint


def access_endpoint(session: Session, workspace_id: int, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint, if it belongs to the workspace; else NotFound (same as missing)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.workspace_id != workspace_id:
        raise NotFound(f"Webhook endpoint {endpoint_id} was not found.")
    return endpoint


def list_endpoints(session: Session, workspace_id: int) -> list[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == workspace_id)
        .order_by(WebhookEndpoint.id)
    )
    return list(session.scalars(query))


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; everything is checked before anything changes."""
    new_url = vet_url(url, allow_private=allow_private(session)).url if url is not None else None
    new_types = _clean_event_types(event_types) if event_types is not None else None
    if new_url is not None:
        endpoint.url = new_url
    if new_types is not None:
        endpoint.event_types = new_types
    if active is not None:
        endpoint.active = bool(active)
    session.flush()
    _forget_cache(session)
    return endpoint


def rotate_secret(session: Session, endpoint: WebhookEndpoint) -> str:
    endpoint.secret = new_secret()
    session.flush()
    _forget_cache(session)
    return endpoint.secret


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its deliveries (pending ones are not sent)."""
    session.delete(endpoint)
    session.flush()
    _forget_cache(session)


def active_endpoints(session: Session, workspace_id: int) -> list[WebhookEndpoint]:
    """Active endpoints of the workspace, one query per transaction."""
    cache: dict[int, list[WebhookEndpoint]] = session.info.setdefault(_CACHE_KEY, {})
    if workspace_id not in cache:
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.active.is_(True)
        )
        cache[workspace_id] = list(session.scalars(query))
    return cache[workspace_id]


def endpoint_public(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
        "created_at": endpoint.created_at.isoformat(),
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data

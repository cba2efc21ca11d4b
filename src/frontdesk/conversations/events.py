"""The append-only event log. Every state change calls :func:`append_event` in its transaction.

Event types written by the platform core (later features add theirs):
``conversation_created``, ``message_received``, ``agent_replied``, ``note_added``,
``bot_replied``, ``system_message``, ``assigned``, ``reassigned``, ``unassigned``,
``team_changed``, ``status_changed``, ``priority_changed``, ``tags_changed``,
``customer_updated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from frontdesk.store.models import ConversationEvent, utcnow


@dataclass(frozen=True)
class Actor:
    """Who did it: ``customer``, ``agent``, ``bot``, ``system`` or ``api`` (a token)."""

    type: str
    id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


SYSTEM = Actor("system")
BOT = Actor("bot")

# Called inside the transaction for every appended event (webhooks hook in here).
_listeners: list[Any] = []


def on_event(listener: Any) -> Any:
    """Register ``listener(session, event)``, called in the same transaction as the event."""
    _listeners.append(listener)
    return listener


def append_event(
    session: Session,
    *,
    workspace_id: int,
    conversation_id: int | None,
    type: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
) -> ConversationEvent:
    event = ConversationEvent(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        type=type,
        actor_type=actor.type,
        actor_id=actor.id,
        data=data or {},
        created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    for listener in _listeners:
        listener(session, event)
    return event


def event_payload(event: ConversationEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "conversation_id": event.conversation_id,
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }

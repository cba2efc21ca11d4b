"""JSON shapes of conversations and messages sent to browsers over the live bus."""

from __future__ import annotations

from typing import Any

from frontdesk.store.models import Conversation, Message


def message_payload(message: Message, *, author_name: str | None = None) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "author_type": message.author_type,
        "author_id": message.author_id,
        "author_name": author_name,
        "kind": message.kind,
        "body": message.body,
        "client_id": message.client_id,
        "meta": message.meta or {},
        # files that came with it (email, web form): id, filename, content_type, size
        "attachments": list((message.meta or {}).get("attachments", [])),
        "created_at": message.created_at.isoformat(),
    }


def customer_visible_payload(message: Message, *, author_name: str | None = None) -> dict[str, Any]:
    """What the widget may see of a message: no internal ids of agents."""
    data = message_payload(message, author_name=author_name)
    data.pop("author_id")
    return data


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "customer_id": conversation.customer_id,
        "channel": conversation.channel,
        "status": conversation.status,
        "priority": conversation.priority,
        "team_id": conversation.team_id,
        "assignee_id": conversation.assignee_id,
        "in_triage": conversation.in_triage,
        "language": conversation.language,
        "subject": conversation.subject,
        "tags": list(conversation.tags or []),
        "last_seq": conversation.last_seq,
        "last_message_preview": conversation.last_message_preview,
        "last_message_at": conversation.last_message_at.isoformat(),
        "snoozed_until": conversation.snoozed_until.isoformat()
        if conversation.snoozed_until
        else None,
        # the earliest running SLA deadline (F31), None when no SLA clock runs
        "sla_due_at": conversation.sla_due_at.isoformat() if conversation.sla_due_at else None,
    }

"""The only code that changes conversations and messages.

Each ``do_*`` function changes rows in the caller's transaction, appends the event, and
registers the live update to publish after the commit. API handlers, the inbox, the widget,
the bot and workflows all call these; none writes conversation rows itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.conversations.events import Actor, append_event
from frontdesk.conversations.payloads import (
    conversation_payload,
    customer_visible_payload,
    message_payload,
)
from frontdesk.domain.conversation import (
    REOPENED_BY_CUSTOMER,
    check_priority,
    check_status,
    preview,
)
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.live import conversation_channel, publish_after_commit, workspace_channel
from frontdesk.store.models import (
    Agent,
    Conversation,
    Customer,
    Message,
    Team,
    TeamMember,
    utcnow,
)


def access_conversation(session: Session, workspace_id: int, conversation_id: int) -> Conversation:
    """The conversation, or NotFound if it does not exist or belongs to another workspace."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        raise NotFound(f"Conversation {conversation_id} was not found.")
    return conversation


def _next_seq(session: Session, conversation: Conversation) -> int:
    # One atomic UPDATE … RETURNING: concurrent writers never get the same number.
    seq = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq)
    ).scalar_one()
    conversation.last_seq = seq
    return int(seq)


def existing_message(session: Session, workspace_id: int, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return session.scalar(
        select(Message).where(Message.workspace_id == workspace_id, Message.client_id == client_id)
    )


def _publish_conversation(session: Session, conversation: Conversation, change: str) -> None:
    publish_after_commit(
        session,
        workspace_channel(conversation.workspace_id),
        {
            "type": "conversation.updated",
            "change": change,
            "conversation": conversation_payload(conversation),
        },
    )
    publish_after_commit(
        session,
        conversation_channel(conversation.id),
        {"type": "conversation.updated", "status": conversation.status},
    )


def _add_message(
    session: Session,
    conversation: Conversation,
    *,
    author_type: str,
    author_id: int | None,
    body: str,
    kind: str = "message",
    client_id: str | None = None,
    meta: dict[str, Any] | None = None,
    author_name: str | None = None,
) -> Message:
    now = utcnow()
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        seq=_next_seq(session, conversation),
        author_type=author_type,
        author_id=author_id,
        kind=kind,
        body=body,
        client_id=client_id,
        meta=meta or {},
        created_at=now,
    )
    session.add(message)
    if kind == "message":
        conversation.last_message_at = now
        conversation.last_message_preview = preview(body)
    conversation.updated_at = now
    session.flush()
    payload = message_payload(message, author_name=author_name)
    publish_after_commit(
        session,
        workspace_channel(conversation.workspace_id),
        {"type": "message.created", "conversation_id": conversation.id, "message": payload},
    )
    if kind == "message":
        visible = customer_visible_payload(message, author_name=author_name)
        publish_after_commit(
            session, conversation_channel(conversation.id), {"type": "message", "message": visible}
        )
    return message


def do_start_conversation(
    session: Session,
    customer: Customer,
    *,
    channel: str,
    actor: Actor,
    subject: str | None = None,
    page_url: str | None = None,
    language: str | None = None,
) -> Conversation:
    now = utcnow()
    conversation = Conversation(
        workspace_id=customer.workspace_id,
        customer_id=customer.id,
        channel=channel,
        subject=subject,
        page_url=page_url,
        language=language or customer.language,
        created_at=now,
        updated_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    session.flush()
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="conversation_created",
        actor=actor,
        data={"channel": channel, "customer_id": customer.id, "page_url": page_url},
    )
    return conversation


def do_record_customer_message(
    session: Session,
    conversation: Conversation,
    *,
    body: str,
    client_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Store a customer's message; a message to a pending, snoozed or resolved conversation
    reopens it (F24). Idempotent on ``client_id``: callers check :func:`existing_message` first."""
    customer = conversation.customer
    message = _add_message(
        session,
        conversation,
        author_type="customer",
        author_id=customer.id,
        body=body,
        client_id=client_id,
        meta=meta,
        author_name=customer.name,
    )
    customer.last_seen_at = message.created_at
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="message_received",
        actor=Actor("customer", customer.id),
        data={"message_id": message.id, "seq": message.seq, "channel": conversation.channel},
    )
    if conversation.status in REOPENED_BY_CUSTOMER:
        _set_status(
            session, conversation, "open", Actor("customer", customer.id), reason="customer_replied"
        )
    _publish_conversation(session, conversation, "message")
    return message


def do_send_agent_reply(
    session: Session,
    conversation: Conversation,
    agent: Agent,
    *,
    body: str,
    client_id: str | None = None,
) -> Message:
    message = _add_message(
        session,
        conversation,
        author_type="agent",
        author_id=agent.id,
        body=body,
        client_id=client_id,
        author_name=agent.name,
    )
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="agent_replied",
        actor=Actor("agent", agent.id),
        data={"message_id": message.id, "seq": message.seq},
    )
    if conversation.assignee_id is None:
        # Whoever answers an unassigned conversation takes it, as in Chatwoot and Zendesk.
        _assign(session, conversation, conversation.team_id, agent.id, Actor("agent", agent.id))
    if conversation.in_triage:
        conversation.in_triage = False
    _publish_conversation(session, conversation, "message")
    return message


def do_add_note(
    session: Session,
    conversation: Conversation,
    agent: Agent,
    *,
    body: str,
    client_id: str | None = None,
) -> Message:
    message = _add_message(
        session,
        conversation,
        author_type="agent",
        author_id=agent.id,
        body=body,
        kind="note",
        client_id=client_id,
        author_name=agent.name,
    )
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="note_added",
        actor=Actor("agent", agent.id),
        data={"message_id": message.id},
    )
    return message


def do_post_bot_message(
    session: Session,
    conversation: Conversation,
    *,
    body: str,
    meta: dict[str, Any] | None = None,
    introduction: str | None = None,
) -> Message:
    """A message from the bot. ``introduction`` ("I'm an automated assistant (a bot).") is put
    before the bot's first message in the conversation, whichever part of the bot says it."""
    state = dict(conversation.bot_state or {})
    if introduction and not state.get("introduced"):
        body = f"{introduction} {body}"
        state["introduced"] = True
        conversation.bot_state = state
    message = _add_message(
        session,
        conversation,
        author_type="bot",
        author_id=None,
        body=body,
        meta=meta,
        author_name="Bot",
    )
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="bot_replied",
        actor=Actor("bot"),
        data={"message_id": message.id, **({"meta": meta} if meta else {})},
    )
    _publish_conversation(session, conversation, "message")
    return message


def do_post_system_message(
    session: Session, conversation: Conversation, *, body: str, meta: dict[str, Any] | None = None
) -> Message:
    """A line in the transcript that neither side wrote ("Assigned to Ana")."""
    return _add_message(
        session,
        conversation,
        author_type="system",
        author_id=None,
        body=body,
        kind="system",
        meta=meta,
    )


def _assign(
    session: Session,
    conversation: Conversation,
    team_id: int | None,
    assignee_id: int | None,
    actor: Actor,
    *,
    reason: str | None = None,
) -> bool:
    before_team, before_agent = conversation.team_id, conversation.assignee_id
    if (before_team, before_agent) == (team_id, assignee_id):
        return False
    conversation.team_id = team_id
    conversation.assignee_id = assignee_id
    conversation.updated_at = utcnow()
    if team_id is not None or assignee_id is not None:
        conversation.in_triage = False
    base = {
        "from_team_id": before_team,
        "to_team_id": team_id,
        "from_agent_id": before_agent,
        "to_agent_id": assignee_id,
        **({"reason": reason} if reason else {}),
    }
    if before_team != team_id:
        # Moving between teams is what first-time routing accuracy counts (F19).
        event_type = "team_changed" if before_team is None else "reassigned"
        append_event(
            session,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            type=event_type,
            actor=actor,
            data=base,
        )
    if before_agent != assignee_id:
        if assignee_id is None:
            event_type = "unassigned"
        elif before_agent is None:
            event_type = "assigned"
        else:
            event_type = "reassigned" if before_team == team_id else "assigned"
        append_event(
            session,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            type=event_type,
            actor=actor,
            data=base,
        )
    session.flush()
    return True


def do_assign(
    session: Session,
    conversation: Conversation,
    *,
    team_id: int | None,
    assignee_id: int | None,
    actor: Actor,
    reason: str | None = None,
) -> Conversation:
    """Set the team and the agent. The agent must be an active agent of the workspace and,
    when a team is set, a member of it."""
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.workspace_id != conversation.workspace_id:
            raise NotFound(f"Team {team_id} was not found.")
    if assignee_id is not None:
        agent = session.get(Agent, assignee_id)
        if agent is None or agent.workspace_id != conversation.workspace_id or not agent.is_active:
            raise NotFound(f"Agent {assignee_id} was not found.")
        if team_id is not None and session.get(TeamMember, (team_id, assignee_id)) is None:
            raise InvalidInput(
                f"{agent.name} is not a member of that team; pick a member or no team."
            )
    if _assign(session, conversation, team_id, assignee_id, actor, reason=reason):
        _publish_conversation(session, conversation, "assignment")
    return conversation


def do_send_to_triage(
    session: Session, conversation: Conversation, *, actor: Actor, reason: str
) -> None:
    if conversation.in_triage:
        return
    conversation.in_triage = True
    conversation.updated_at = utcnow()
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="triaged",
        actor=actor,
        data={"reason": reason},
    )
    _publish_conversation(session, conversation, "triage")


def _set_status(
    session: Session,
    conversation: Conversation,
    status: str,
    actor: Actor,
    *,
    snoozed_until: datetime | None = None,
    reason: str | None = None,
) -> bool:
    if conversation.status == status and conversation.snoozed_until == snoozed_until:
        return False
    before = conversation.status
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == "snoozed" else None
    conversation.updated_at = utcnow()
    data: dict[str, Any] = {"from": before, "to": status}
    if snoozed_until is not None and status == "snoozed":
        data["snoozed_until"] = snoozed_until.isoformat()
    if reason:
        data["reason"] = reason
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="status_changed",
        actor=actor,
        data=data,
    )
    return True


def do_change_status(
    session: Session,
    conversation: Conversation,
    status: str,
    *,
    actor: Actor,
    snoozed_until: datetime | None = None,
    reason: str | None = None,
) -> Conversation:
    check_status(status)
    if status == "snoozed":
        if snoozed_until is None:
            raise InvalidInput("Snoozing needs a time: snoozed_until.")
        if snoozed_until.tzinfo is None:
            raise InvalidInput("snoozed_until needs a timezone, e.g. 2026-01-31T09:00:00Z.")
        if snoozed_until <= utcnow():
            raise InvalidInput("snoozed_until must be in the future.")
    elif snoozed_until is not None:
        raise InvalidInput("snoozed_until is only for status 'snoozed'.")
    if _set_status(
        session, conversation, status, actor, snoozed_until=snoozed_until, reason=reason
    ):
        _publish_conversation(session, conversation, "status")
    return conversation


def do_change_priority(
    session: Session,
    conversation: Conversation,
    priority: str,
    *,
    actor: Actor,
    reason: str | None = None,
) -> Conversation:
    check_priority(priority)
    if conversation.priority == priority:
        return conversation
    before = conversation.priority
    conversation.priority = priority
    conversation.updated_at = utcnow()
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="priority_changed",
        actor=actor,
        data={"from": before, "to": priority, **({"reason": reason} if reason else {})},
    )
    _publish_conversation(session, conversation, "priority")
    return conversation


def do_set_tags(
    session: Session, conversation: Conversation, tags: list[str], *, actor: Actor
) -> Conversation:
    clean = sorted({t.strip().lower() for t in tags if t.strip()})
    if any(len(t) > 50 for t in clean) or len(clean) > 30:
        raise InvalidInput("At most 30 tags of at most 50 characters each.")
    if clean == sorted(conversation.tags or []):
        return conversation
    before = list(conversation.tags or [])
    conversation.tags = clean
    conversation.updated_at = utcnow()
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="tags_changed",
        actor=actor,
        data={"from": before, "to": clean},
    )
    _publish_conversation(session, conversation, "tags")
    return conversation


def wake_snoozed(session: Session, now: datetime) -> list[int]:
    """Reopen every conversation whose snooze has run out; return their ids."""
    due = session.scalars(
        select(Conversation).where(
            Conversation.status == "snoozed", Conversation.snoozed_until <= now
        )
    ).all()
    for conversation in due:
        _set_status(session, conversation, "open", Actor.system(), reason="snooze_ended")
        _publish_conversation(session, conversation, "status")
    return [c.id for c in due]


def do_hand_off(
    session: Session,
    conversation: Conversation,
    *,
    reason: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
) -> bool:
    """A person takes over: the bot stays out of this conversation from now on (F1, F3).

    Appends ``handed_off`` with the reason (human_request, feedback_no, repeated_miss, or a
    guardrail's) and, when no team owns the conversation yet, sends it to triage for routing.
    Returns False when it was handed off already.
    """
    state = dict(conversation.bot_state or {})
    if state.get("handed_off"):
        return False
    state["handed_off"] = reason
    state.pop("awaiting_feedback", None)
    conversation.bot_state = state
    conversation.updated_at = utcnow()
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="handed_off",
        actor=actor,
        data={"reason": reason, **(data or {})},
    )
    if conversation.team_id is None and conversation.assignee_id is None:
        do_send_to_triage(session, conversation, actor=actor, reason=f"handed_off:{reason}")
    else:
        _publish_conversation(session, conversation, "handoff")
    return True

"""Whether a conversation wants a person yet, or is still the bot's (read by routing, the SLA
clocks and the inbox's views).

The bot takes the first turn in a workspace's chats when it is on and has a published article
to answer from. A chat it is handling wants nobody until it is handed off (the bot's or a
guardrail's handoff), a person takes it (a team or an agent), or it goes to triage. Email and
web-form tickets, and the chats of a workspace without a bot, want a person from the start.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from frontdesk.domain.conversation import TICKET_CHANNELS
from frontdesk.store.models import Conversation, KbArticle, Workspace

__all__ = ["handed_off", "wants_person", "workspace_has_bot"]


def workspace_has_bot(session: Session, workspace_id: int) -> bool:
    """Whether the bot takes the first turn in this workspace's chats: it is on and has a
    published article to answer from (else a chat goes to a person at once)."""
    published = exists().where(
        KbArticle.workspace_id == workspace_id, KbArticle.status == "published"
    )
    workspace = session.scalar(select(Workspace).where(Workspace.id == workspace_id, published))
    return workspace is not None and workspace.bot_enabled  # one query


def handed_off(conversation: Conversation) -> bool:
    return bool((conversation.bot_state or {}).get("handed_off"))


def wants_person(session: Session, conversation: Conversation) -> bool:
    """A person should see this conversation: see the module docstring."""
    if handed_off(conversation) or conversation.channel in TICKET_CHANNELS:
        return True
    if conversation.assignee_id is not None or conversation.team_id is not None:
        return True
    if conversation.in_triage:
        return True
    return not workspace_has_bot(session, conversation.workspace_id)

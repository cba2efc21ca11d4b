"""Agents' and the bot's replies go to the customer by email (F30, F22).

:func:`email_replies` listens to every appended event (``on_event``; the runtime imports this
module so it registers). On ``agent_replied`` and ``bot_replied`` in a conversation with
``reply_by_email`` (email and web-form tickets, and a chat that became a ticket through the
waterfall), it puts the message in the outbox (:func:`~frontdesk.channels.email.outbound.queue_email`)
in the same transaction as the message itself: the reply and its email are committed together
or not at all, and the send job takes it from there (retries, delivery state).

Only what the customer sees goes out: never internal notes (``note_added`` is not listened to,
and a message of another kind is skipped) nor system lines. Two kinds of bot message stay in
the widget: ``declined`` (by email the bot only speaks when it is confident; the ticket is
routed to a person anyway) and ``waterfall`` (it asks for the email address in the widget).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.bot.phrases import phrase
from frontdesk.channels.email.outbound import queue_email, reply_subject
from frontdesk.channels.email.render import bot_meta, render_message
from frontdesk.conversations.events import on_event
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Message,
    OutboundEmail,
    Workspace,
)

__all__ = ["NOT_EMAILED_BOT_KINDS", "email_replies", "email_subject", "queue_message_email"]

log = logging.getLogger(__name__)

REPLY_EVENTS = ("agent_replied", "bot_replied")
NOT_EMAILED_BOT_KINDS = frozenset({"declined", "waterfall"})


def email_subject(conversation: Conversation, workspace: Workspace, language: str) -> str:
    """Every email of a conversation has the same subject: "Re: <the ticket's subject>", or
    for a chat (which has none) "Your chat with <workspace>"."""
    if conversation.subject and conversation.subject.strip():
        return reply_subject(conversation.subject)
    return phrase(language, "email_chat_subject", name=workspace.name)


def _language(conversation: Conversation, workspace: Workspace, message: Message) -> str:
    return str(
        bot_meta(message).get("language")
        or conversation.language
        or conversation.customer.language
        or workspace.default_language
        or "en"
    )


def queue_message_email(
    session: Session, conversation: Conversation, message: Message
) -> OutboundEmail | None:
    """Put ``message`` (an agent's or the bot's, customer-visible) in the outbox, once."""
    if message.kind != "message" or message.author_type not in ("agent", "bot"):
        return None
    if message.author_type == "bot" and bot_meta(message).get("kind") in NOT_EMAILED_BOT_KINDS:
        return None
    already = session.scalar(
        select(OutboundEmail).where(OutboundEmail.message_id == message.id).limit(1)
    )
    if already is not None:
        return already
    workspace = session.get(Workspace, conversation.workspace_id)
    assert workspace is not None
    language = _language(conversation, workspace, message)
    signature = None
    if message.author_type == "agent":
        agent = session.get(Agent, message.author_id) if message.author_id else None
        name = agent.name if agent is not None else None
        signature = f"{name}, {workspace.name}" if name else workspace.name
    runtime = session.info.get("runtime")
    base_url = runtime.settings.base_url if runtime is not None else ""
    body = render_message(message, language=language, base_url=base_url, signature=signature)
    return queue_email(
        session,
        conversation,
        text=body.text,
        html=body.html,
        message=message,
        subject=email_subject(conversation, workspace, language),
    )


@on_event
def email_replies(session: Session, event: ConversationEvent) -> None:
    """Listener: an agent's or the bot's reply in a ``reply_by_email`` conversation → outbox."""
    if event.type not in REPLY_EVENTS or event.conversation_id is None:
        return
    conversation = session.get(Conversation, event.conversation_id)
    if conversation is None or not conversation.reply_by_email:
        return
    message_id = (event.data or {}).get("message_id")
    message = session.get(Message, message_id) if isinstance(message_id, int) else None
    if message is None or message.conversation_id != conversation.id:
        log.warning("event %s names no message of conversation %s", event.id, conversation.id)
        return
    queue_message_email(session, conversation, message)

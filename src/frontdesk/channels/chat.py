"""The chat channel: what the widget sends becomes an :class:`~frontdesk.inbound.InboundMessage`
and takes the one ingest path; what the customer may see goes back in the widget's shapes.

Only messages of kind ``message`` are shown to customers: internal notes and system lines of
the transcript never leave the agent side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.conversations.payloads import customer_visible_payload
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.inbound import InboundMessage, receive
from frontdesk.store.database import Database
from frontdesk.store.models import Agent, Conversation, Customer, Message

CHANNEL = "chat"
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_PAGE_URL = 2000
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class ChatSend:
    """One message typed into the widget."""

    workspace_id: int
    customer_id: int
    client_id: str
    text: str
    conversation_id: int | None = None  # None: the customer's current chat, or a new one
    page_url: str | None = None
    # A button the customer pressed instead of typing: "yes" / "no" to "did that answer your
    # question?", or "human" for "Talk to a person". The text is what the button said.
    intent: str | None = None


@dataclass(frozen=True)
class ChatDelivery:
    message: dict[str, Any]  # customer-visible message
    conversation: dict[str, Any]  # {id, status, last_seq}
    duplicate: bool


def check_client_id(value: object) -> str:
    if not isinstance(value, str) or not CLIENT_ID.match(value):
        raise InvalidInput(
            "client_id must be 1 to 64 letters, digits, '-', '_', '.' or ':' (a UUID fits)."
        )
    return value


def check_utf8(value: str, what: str) -> str:
    """Reject text that cannot be stored as UTF-8 (lone surrogates from a ``\\ud800`` escape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8 text.") from None
    return value


def clean_page_url(value: object) -> str | None:
    """The page the customer is on, if it is a plain http(s) URL; anything else is dropped
    (agents click it in the inbox, so ``javascript:`` and the like never get stored)."""
    if not isinstance(value, str) or not value or len(value) > MAX_PAGE_URL:
        return None
    try:
        value.encode("utf-8")
        parts = urlsplit(value)
    except (UnicodeEncodeError, ValueError):
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value


def conversation_summary(conversation: Conversation) -> dict[str, Any]:
    return {"id": conversation.id, "status": conversation.status, "last_seq": conversation.last_seq}


def current_conversation(
    session: Session, workspace_id: int, customer_id: int
) -> Conversation | None:
    """The customer's latest chat conversation that is not closed (resolved ones reopen)."""
    return session.scalar(
        select(Conversation)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.customer_id == customer_id,
            Conversation.channel == CHANNEL,
            Conversation.status != "closed",
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


def customer_conversation(
    session: Session, workspace_id: int, customer_id: int, conversation_id: int
) -> Conversation:
    """The conversation if it is this customer's; NotFound otherwise, whoever owns it."""
    conversation = session.get(Conversation, conversation_id)
    if (
        conversation is None
        or conversation.workspace_id != workspace_id
        or conversation.customer_id != customer_id
    ):
        raise NotFound(f"Conversation {conversation_id} was not found.")
    return conversation


def _visible(
    session: Session, messages: list[Message], customer_name: str | None
) -> list[dict[str, Any]]:
    """Payloads for the widget. Customer messages carry the conversation's customer's name (an
    anonymous visitor merged into a verified user keeps authoring their old messages)."""
    agent_ids = {m.author_id for m in messages if m.author_type == "agent" and m.author_id}
    agent_names: dict[int, str] = {}
    if agent_ids:
        rows = session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
        agent_names = {row.id: row.name for row in rows}
    out = []
    for m in messages:
        if m.author_type == "customer":
            name = customer_name
        elif m.author_type == "agent":
            name = agent_names.get(m.author_id or 0)
        elif m.author_type == "bot":
            name = "Bot"
        else:
            name = None
        out.append(customer_visible_payload(m, author_name=name))
    return out


def visible_messages(
    session: Session, conversation_id: int, *, after_seq: int = 0, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """Customer-visible messages after ``after_seq``, oldest first. With ``after_seq=0`` and more
    than ``limit`` of them, the latest ``limit``."""
    customer_name = session.scalar(
        select(Customer.name)
        .join(Conversation, Conversation.customer_id == Customer.id)
        .where(Conversation.id == conversation_id)
    )
    query = select(Message).where(
        Message.conversation_id == conversation_id,
        Message.kind == "message",
        Message.seq > after_seq,
    )
    if after_seq == 0:
        rows = list(session.scalars(query.order_by(Message.seq.desc()).limit(limit)))
        rows.reverse()
    else:
        rows = list(session.scalars(query.order_by(Message.seq).limit(limit)))
    return _visible(session, rows, customer_name)


def send_chat_message(db: Database, send: ChatSend, *, max_chars: int) -> ChatDelivery:
    """Store the customer's message through the ingest path; a resend (same client_id) is
    stored once and answered with the stored message."""
    client_id = check_client_id(send.client_id)
    if not isinstance(send.text, str):
        raise InvalidInput("Message must be text.")
    check_utf8(send.text, "Message")
    conversation_id = send.conversation_id
    if conversation_id is None:
        with db.read() as session:
            current = current_conversation(session, send.workspace_id, send.customer_id)
            conversation_id = current.id if current is not None else None
    result = receive(
        db,
        InboundMessage(
            workspace_id=send.workspace_id,
            channel=CHANNEL,
            customer_id=send.customer_id,
            text=send.text,
            conversation_id=conversation_id,
            client_id=client_id,
            page_url=clean_page_url(send.page_url),
            meta={"intent": send.intent} if send.intent else {},
        ),
        max_chars=max_chars,
    )
    with db.read() as session:
        message = session.get(Message, result.message_id)
        conversation = session.get(Conversation, result.conversation_id)
        if (
            message is None
            or conversation is None
            or message.author_type != "customer"
            or conversation.customer_id != send.customer_id
        ):
            # The client_id is someone else's: say so without revealing their message.
            raise Conflict("This client_id was used for another message; generate a new one.")
        return ChatDelivery(
            message=_visible(session, [message], conversation.customer.name)[0],
            conversation=conversation_summary(conversation),
            duplicate=result.duplicate,
        )

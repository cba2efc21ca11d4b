"""The one path every inbound customer message takes, whatever its channel.

1. record: find the customer and the conversation (or start one), store the message and its
   event, and commit, so the message is safe before anything else can fail.
2. the pipeline steps, each in its own transaction, in order (see :data:`PIPELINE`): language
   detection, guardrails, the bot, routing. A step with a ``prepare`` method (the bot) does
   its slow read-only work there first, in a read session, so that no write lock is held
   while a model runs.

A step that fails is logged and skipped: the message is already stored and reaches the inbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.conversations.actions import (
    access_conversation,
    do_record_customer_message,
    do_start_conversation,
    existing_message,
)
from frontdesk.conversations.events import Actor
from frontdesk.customers.actions import access_customer
from frontdesk.domain.conversation import CHANNELS, clean_text
from frontdesk.errors import InvalidInput
from frontdesk.language.detect import detect_language
from frontdesk.store.database import Database
from frontdesk.store.models import Conversation, Message, Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundMessage:
    """A customer message, normalised by a channel adapter."""

    workspace_id: int
    channel: str
    customer_id: int
    text: str
    conversation_id: int | None = None  # None: start a new conversation
    client_id: str | None = None  # the sender's id for this message: resends are stored once
    page_url: str | None = None
    subject: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class InboundContext:
    """What the steps know and share about one inbound message."""

    inbound: InboundMessage
    workspace_id: int
    conversation_id: int
    message_id: int
    language: str | None = None
    # Set by a step that has dealt with the message (a guardrail's handoff, the bot's answer):
    # the answering steps after it stay silent; routing still runs.
    stop: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundResult:
    conversation_id: int
    message_id: int
    seq: int
    duplicate: bool
    created_conversation: bool
    # milliseconds each step took, by step name (``record`` first); empty for a duplicate
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)


Step = Callable[[Session, InboundContext], None]


def detect_language_step(session: Session, ctx: InboundContext) -> None:
    message = session.get(Message, ctx.message_id)
    conversation = session.get(Conversation, ctx.conversation_id)
    assert message is not None and conversation is not None
    customer = conversation.customer
    workspace = session.get(Workspace, ctx.workspace_id)
    fallback = (
        customer.language
        or conversation.language
        or (workspace.default_language if workspace else None)
        or "en"
    )
    detection = detect_language(message.body, fallback=fallback)
    ctx.language = detection.language
    message.meta = {
        **(message.meta or {}),
        "language": detection.language,
        "language_confidence": round(detection.confidence, 3),
        "language_method": detection.method,
    }
    if detection.method != "fallback":
        conversation.language = detection.language
        if not customer.language:
            customer.language = detection.language
    elif not conversation.language:
        conversation.language = fallback


def _guardrails_step(session: Session, ctx: InboundContext) -> None:
    from frontdesk.guardrails.step import guardrails_step

    guardrails_step(session, ctx)


class _BotStep:
    """The bot, with a ``prepare`` phase: :func:`receive` runs it in a read session first."""

    def prepare(self, session: Session, ctx: InboundContext) -> None:
        from frontdesk.bot.respond import prepare_bot_step

        prepare_bot_step(session, ctx)

    def __call__(self, session: Session, ctx: InboundContext) -> None:
        from frontdesk.bot.respond import bot_step

        bot_step(session, ctx)


_bot_step = _BotStep()


def _routing_step(session: Session, ctx: InboundContext) -> None:
    from frontdesk.routing.step import routing_step

    routing_step(session, ctx)


# The steps after recording, in order. Guardrails go before the bot, routing after it.
PIPELINE: list[tuple[str, Step]] = [
    ("language", detect_language_step),
    ("guardrails", _guardrails_step),
    ("bot", _bot_step),
    ("routing", _routing_step),
]


def record(session: Session, msg: InboundMessage, *, max_chars: int) -> InboundResult:
    """Step 1, in the caller's transaction: store the message (once, whatever the resends)."""
    if msg.channel not in CHANNELS:
        raise InvalidInput(f"Unknown channel {msg.channel!r}.")
    text = clean_text(msg.text, max_chars=max_chars)
    if msg.client_id is not None and not (0 < len(msg.client_id) <= 64):
        raise InvalidInput("client_id must be 1 to 64 characters.")
    previous = existing_message(session, msg.workspace_id, msg.client_id)
    if previous is not None:
        return InboundResult(previous.conversation_id, previous.id, previous.seq, True, False)
    # The customer's row first: two messages of one customer at once (two emails, two tabs)
    # then queue here instead of deadlocking on PostgreSQL over the customer and the
    # conversation rows taken in different orders.
    customer = access_customer(session, msg.workspace_id, msg.customer_id, lock=True)
    created = False
    if msg.conversation_id is not None:
        conversation = access_conversation(session, msg.workspace_id, msg.conversation_id)
        if conversation.customer_id != customer.id:
            # Indistinguishable from a missing conversation: no probing of other customers' ids.
            conversation = access_conversation(session, msg.workspace_id, -1)
        if conversation.status == "closed":
            # A closed conversation stays closed; the customer gets a fresh one (F24).
            conversation = do_start_conversation(
                session,
                customer,
                channel=msg.channel,
                actor=Actor("customer", customer.id),
                subject=msg.subject,
                page_url=msg.page_url,
            )
            created = True
    else:
        conversation = do_start_conversation(
            session,
            customer,
            channel=msg.channel,
            actor=Actor("customer", customer.id),
            subject=msg.subject,
            page_url=msg.page_url,
        )
        created = True
    if msg.page_url:
        conversation.page_url = msg.page_url
        customer.last_page_url = msg.page_url
    message = do_record_customer_message(
        session, conversation, body=text, client_id=msg.client_id, meta=dict(msg.meta)
    )
    return InboundResult(conversation.id, message.id, message.seq, False, created)


def receive(
    db: Database,
    msg: InboundMessage,
    *,
    max_chars: int = 10_000,
    steps: list[tuple[str, Step]] | None = None,
) -> InboundResult:
    """Store ``msg`` and run the pipeline on it. Safe to call again with the same client_id."""
    started = time.perf_counter()
    try:
        with db.write() as session:
            result = record(session, msg, max_chars=max_chars)
    except IntegrityError:
        # Two resends raced past the duplicate check (PostgreSQL): the other one stored it.
        with db.read() as session:
            previous = existing_message(session, msg.workspace_id, msg.client_id)
        if previous is None:
            raise
        return InboundResult(previous.conversation_id, previous.id, previous.seq, True, False)
    if result.duplicate:
        return result
    ctx = InboundContext(msg, msg.workspace_id, result.conversation_id, result.message_id)
    ctx.notes["timings_ms"] = {"record": round((time.perf_counter() - started) * 1000, 2)}
    for name, step in steps if steps is not None else PIPELINE:
        started = time.perf_counter()
        try:
            # A step's read-only slow part (model inference, search) runs outside the write
            # transaction, so that SQLite's single write lock is held only to write.
            prepare: Step | None = getattr(step, "prepare", None)
            if prepare is not None:
                with db.read() as session:
                    prepare(session, ctx)
            with db.write() as session:
                step(session, ctx)
        except Exception:
            log.exception(
                "inbound step %s failed for message %s; the message is stored",
                name,
                result.message_id,
            )
        ctx.notes.setdefault("timings_ms", {})[name] = round(
            (time.perf_counter() - started) * 1000, 2
        )
    result.timings_ms.update(ctx.notes["timings_ms"])
    return result

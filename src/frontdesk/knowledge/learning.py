"""The bot learns from the team (F1, the peers' "learn from resolved conversations").

When an agent resolves a conversation, the bot learns from how it was handled:

* **with an article**: the agent sent a link to a help-center article
  (``/help/{workspace}/articles/{id}``): the customer's question before that link becomes a
  learned example question of the article (``kb_examples``, source ``learned``). The search
  index embeds examples like passages, so the next customer asking the same thing in the same
  words, or in another language, gets the article from the bot;
* **without one**, when the bot itself had decided on the question (it declined, or it answered
  and a person still had to take over) and no guardrail had stopped it (a policy, safety,
  frustration or a request for a person says nothing about the question): the question becomes
  a negative example (``kb_negative_examples``), a question a person had to handle, kept as
  data for content-gap reports (none reads them yet). The search and the confidence do not
  read them: an ``answerable`` signal learnt from them measured no gain (docs/evaluation.md).

Nothing to retrain: the next query sees a learned example (the index catches up on the
workspace's ``kb_revision``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.conversations.events import on_event
from frontdesk.errors import FrontdeskError
from frontdesk.knowledge.store import do_add_example, do_add_negative_example
from frontdesk.store.models import Conversation, ConversationEvent, Message, Workspace

__all__ = [
    "BOT_DECISIONS",
    "STOPPED_BEFORE_THE_BOT",
    "learn_from_resolution",
    "linked_articles",
]

log = logging.getLogger(__name__)

MIN_QUESTION_CHARS = 8
# The bot's own decisions on a question (events with the message they were about).
BOT_DECISIONS = ("bot_declined", "bot_answered")
# A conversation with one of these says nothing about whether the bot could have answered:
# a guardrail stopped the bot, or the customer confirmed the bot's answer.
STOPPED_BEFORE_THE_BOT = ("guardrail_triggered", "bot_resolved")
_LINK = re.compile(
    r"/help/(?P<slug>[a-z0-9][a-z0-9-]*)/articles/(?P<key>[a-z0-9][a-z0-9_-]{0,127})"
)


def linked_articles(text: str, workspace_slug: str) -> list[str]:
    """Article ids linked in ``text`` to this workspace's help center, in order, once each."""
    keys: list[str] = []
    for match in _LINK.finditer(text):
        if match["slug"] == workspace_slug and match["key"] not in keys:
            keys.append(match["key"])
    return keys


@on_event
def learn_from_resolution(session: Session, event: ConversationEvent) -> None:
    """Listener: on an agent's ``status_changed`` to resolved, learn from the conversation."""
    if (
        event.type != "status_changed"
        or event.actor_type != "agent"
        or (event.data or {}).get("to") != "resolved"
        or event.conversation_id is None
    ):
        return
    conversation = session.get(Conversation, event.conversation_id)
    workspace = session.get(Workspace, event.workspace_id)
    if conversation is None or workspace is None:
        return
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.kind == "message")
            .order_by(Message.seq)
        )
    )
    if not _learn_examples(session, workspace, conversation, messages) and any(
        m.author_type == "agent" for m in messages
    ):
        _learn_negatives(session, workspace, conversation, messages)


def _learn_examples(
    session: Session, workspace: Workspace, conversation: Conversation, messages: list[Message]
) -> bool:
    """The questions answered with an article link; True when an agent sent any link."""
    question: Message | None = None
    linked = False
    for message in messages:
        if message.author_type == "customer":
            if len(message.body.strip()) >= MIN_QUESTION_CHARS and (
                question is None or len(message.body) > len(question.body)
            ):
                question = message  # the fullest statement of the problem so far
            continue
        if message.author_type != "agent":
            continue
        keys = linked_articles(message.body, workspace.slug)
        linked = linked or bool(keys)
        if question is None:
            continue
        for key in keys:
            language = (question.meta or {}).get("language") or conversation.language or "en"
            try:
                with session.begin_nested():
                    do_add_example(
                        session,
                        workspace.id,
                        key,
                        question.body,
                        language=language,
                        source="learned",
                        conversation_id=conversation.id,
                    )
            except FrontdeskError as exc:  # an unknown or deleted article: nothing to learn
                log.info("not learning from conversation %s: %s", conversation.id, exc.message)
        if keys:
            question = None  # the next link answers a later question
    return linked


def _learn_negatives(
    session: Session, workspace: Workspace, conversation: Conversation, messages: list[Message]
) -> None:
    """The questions the bot decided on (declined, or answered in vain) that a person then
    handled without an article, unless a guardrail stopped the bot or the customer was
    satisfied with its answer."""
    events: list[tuple[str, str, dict[str, Any]]] = [
        (row.type, row.actor_type, row.data or {})
        for row in session.execute(
            select(
                ConversationEvent.type, ConversationEvent.actor_type, ConversationEvent.data
            ).where(
                ConversationEvent.workspace_id == workspace.id,
                ConversationEvent.conversation_id == conversation.id,
            )
        )
    ]
    if any(kind in STOPPED_BEFORE_THE_BOT for kind, _, _ in events):
        return
    by_id = {m.id: m for m in messages if m.author_type == "customer"}
    for kind, actor, data in events:
        if kind not in BOT_DECISIONS or actor != "bot":
            continue
        message = by_id.get(data.get("message_id"))  # type: ignore[arg-type]
        if message is None or len(message.body.strip()) < MIN_QUESTION_CHARS:
            continue
        language = (
            (message.meta or {}).get("language")
            or data.get("language")
            or conversation.language
            or "en"
        )
        article = data.get("article_id")
        try:
            with session.begin_nested():
                do_add_negative_example(
                    session,
                    workspace.id,
                    message.body,
                    language=str(language),
                    article_key=article if isinstance(article, str) else None,
                    conversation_id=conversation.id,
                )
        except FrontdeskError as exc:
            log.info("not learning from conversation %s: %s", conversation.id, exc.message)

"""The bot learns from the team (F1, the peers' "learn from resolved conversations").

When an agent resolves a conversation in which they sent a link to a help-center article
(``/help/{workspace}/articles/{id}``), the customer's question before that link becomes a
learned example question of the article (``kb_examples``, source ``learned``). The search
index embeds examples like passages, so the next customer asking the same thing in the same
words, or in another language, gets the article from the bot. Nothing to retrain: the next
query sees it (the index catches up on the workspace's ``kb_revision``).
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.conversations.events import on_event
from frontdesk.errors import FrontdeskError
from frontdesk.knowledge.store import do_add_example
from frontdesk.store.models import Conversation, ConversationEvent, Message, Workspace

__all__ = ["learn_from_resolution", "linked_articles"]

log = logging.getLogger(__name__)

MIN_QUESTION_CHARS = 8
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
    """Listener: on an agent's ``status_changed`` to resolved, learn the linked questions."""
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
    question: Message | None = None
    for message in messages:
        if message.author_type == "customer":
            if len(message.body.strip()) >= MIN_QUESTION_CHARS and (
                question is None or len(message.body) > len(question.body)
            ):
                question = message  # the fullest statement of the problem so far
            continue
        if message.author_type != "agent" or question is None:
            continue
        keys = linked_articles(message.body, workspace.slug)
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

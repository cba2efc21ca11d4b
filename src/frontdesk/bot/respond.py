"""The resolution bot's turn in a conversation (F1 to F4, F7): one step of the inbound pipeline.

On each customer message, unless a person already has the conversation:

1. an explicit request for a person (the widget's button, or words in any language) → hand
   off at once (``handed_off``, reason ``human_request``);
2. while waiting for "did that answer your question?": yes → resolved by the bot
   (``bot_resolved``); no → hand off (``feedback_no``); anything else is a new question;
3. search the knowledge base; when the calibrated confidence clears the threshold, answer with
   the best passage and a link to the article, in the customer's language when a translation
   exists (else the original with a note), and ask for feedback (``bot_answered``);
4. otherwise say so briefly and offer a person (``bot_declined``); the second time in a row,
   hand off (``repeated_miss``): never two "I don't know" replies in a row. In an email or
   web-form ticket it says nothing (``bot_declined`` only): the ticket goes to a person.

Every decision is an event carrying its reason and score, for reports and content gaps (F14).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from frontdesk.bot.feedback import read_feedback
from frontdesk.bot.phrases import LANGUAGE_NAMES, phrase
from frontdesk.bot.suggestions import keyword_matches, keyword_suggestions_allowed, suggestion
from frontdesk.conversations.actions import do_change_status, do_hand_off, do_post_bot_message
from frontdesk.conversations.events import BOT, append_event
from frontdesk.domain.conversation import TICKET_CHANNELS
from frontdesk.guardrails.human_request import is_human_request
from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.confidence import Confidence
from frontdesk.knowledge.index import Hit, KnowledgeIndex
from frontdesk.language.tokenize import tokenize
from frontdesk.store.models import Conversation, Message, Workspace

if TYPE_CHECKING:
    from frontdesk.inbound import InboundContext
    from frontdesk.runtime import Runtime

__all__ = ["BotDecision", "bot_step", "decide", "focus_on_identifiers", "prepare_bot_step"]

log = logging.getLogger(__name__)

MAX_PASSAGE_CHARS = 900
SEARCH_K = 5
INTENTS = ("yes", "no", "human")

_confidence: Confidence | None = None


def confidence() -> Confidence:
    global _confidence
    if _confidence is None:
        _confidence = Confidence.load()
    return _confidence


@dataclass(frozen=True)
class BotDecision:
    """What the knowledge base says about one question."""

    answer: bool
    probability: float
    threshold: float
    hits: list[Hit]

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class Query:
    """A customer message embedded once, by the models that read its language."""

    text: str
    vectors: dict[str, NDArray[np.float32]]

    @classmethod
    def embed(cls, index: KnowledgeIndex, text: str, language: str) -> Query:
        active = [e for e in index.embedders if index.fusion.weight(e.name, language) != 0.0]
        return cls(text, {e.name: e.embed_queries([text])[0] for e in active})


def decide(hits: list[Hit], *, threshold: float | None = None) -> BotDecision:
    calibration = confidence()
    probability = calibration.probability(hits)
    cut = calibration.threshold_for(hits) if threshold is None else threshold
    return BotDecision(bool(hits) and probability >= cut, probability, cut, hits)


def article_url(workspace_slug: str, key: str, language: str) -> str:
    return f"/help/{workspace_slug}/articles/{key}?lang={language}"


def _runtime(session: Session) -> Runtime:
    runtime: Runtime = session.info["runtime"]
    return runtime


def _person_active(session: Session, conversation: Conversation) -> bool:
    if conversation.assignee_id is not None or (conversation.bot_state or {}).get("handed_off"):
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    Message.conversation_id == conversation.id, Message.author_type == "agent"
                )
            )
        )
    )


def _post(session: Session, conversation: Conversation, body: str, meta: dict[str, Any]) -> None:
    do_post_bot_message(
        session,
        conversation,
        body=body,
        meta={"bot": meta},
        introduction=phrase(meta.get("language"), "intro"),
    )


def _hand_off(
    session: Session,
    conversation: Conversation,
    language: str,
    reason: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> None:
    _post(session, conversation, phrase(language, text), {"kind": "handoff", "language": language})
    do_hand_off(session, conversation, reason=reason, actor=BOT, data=data)


def _choose_version(
    runtime: Runtime, workspace_id: int, hit: Hit, language: str
) -> tuple[Article | None, str | None]:
    """The article version to show and, when it is not in the customer's language, the note."""
    versions = runtime.knowledge.versions(workspace_id, hit.article_id)
    chosen = next((v for v in versions if v.language == language), None)
    if chosen is not None:
        return chosen, None
    chosen = next(
        (v for v in versions if v.translation_of is None), versions[0] if versions else None
    )
    if chosen is None:
        return None, None
    name = LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["en"]).get(chosen.language, chosen.language)
    return chosen, phrase(language, "other_language", language=name)


def focus_on_identifiers(text: str, question: str, language: str | None) -> str:
    """Of a passage that is a list (one item a line), the items naming an identifier the
    question names ("E05", an order or model number); the whole passage otherwise. Asked what
    E05 means, the customer gets the E05 line, not the E01 to E09 table."""
    identifiers = {t for t in tokenize(question, language) if any(c.isdigit() for c in t)}
    lines = [line for line in text.split("\n") if line.strip()]
    if not identifiers or len(lines) < 2:
        return text
    naming = [line for line in lines if identifiers & set(tokenize(line))]
    if not naming or len(naming) == len(lines):
        return text
    return "\n".join(naming)


def _answer(
    session: Session,
    runtime: Runtime,
    workspace: Workspace,
    conversation: Conversation,
    language: str,
    decision: BotDecision,
    query: Query,
) -> None:
    hit = decision.best
    assert hit is not None
    article, note = _choose_version(runtime, workspace.id, hit, language)
    title = article.title if article is not None else hit.passage.title
    shown_language = article.language if article is not None else hit.passage.language
    passage = hit.passage
    if passage.language != shown_language:
        # The best passage was found in another version; show that version's best passage.
        index = runtime.knowledge.index(session, workspace.id)
        for other in index.search(
            query.text, shown_language, k=SEARCH_K, query_vectors=query.vectors
        ):
            if other.article_id == hit.article_id and other.passage.language == shown_language:
                passage = other.passage
                break
    text = focus_on_identifiers(passage.text.strip(), query.text, language)
    if len(text) > MAX_PASSAGE_CHARS:
        text = text[:MAX_PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
    url = article_url(workspace.slug, hit.article_id, shown_language)
    if passage.anchor:
        url += f"#{passage.anchor}"
    base = runtime.settings.base_url.rstrip("/")
    lines = [phrase(language, "answer_lead"), "", title, text, ""]
    if note:
        lines.append(note)
    lines += [f"{base}{url}", "", phrase(language, "ask_feedback")]
    meta = {
        "kind": "answer",
        "language": language,
        "article": {
            "id": hit.article_id,
            "title": title,
            "language": shown_language,
            "url": url,
            "heading": passage.heading,
        },
        "note": note,
        "ask": phrase(language, "ask_feedback"),
        "buttons": [
            {"value": "yes", "label": phrase(language, "yes")},
            {"value": "no", "label": phrase(language, "no")},
        ],
    }
    _post(session, conversation, "\n".join(lines).strip(), meta)
    state = dict(conversation.bot_state or {})
    state["awaiting_feedback"] = {"article_id": hit.article_id}
    state["misses"] = 0
    conversation.bot_state = state


@dataclass(frozen=True)
class _Prepared:
    """The search done by :func:`prepare_bot_step` before the write transaction."""

    message_id: int
    language: str
    query: Query
    hits: list[Hit]


def _turn(
    session: Session, ctx: InboundContext
) -> tuple[Conversation, Message, Workspace, KnowledgeIndex, str] | None:
    """What the bot's turn works on, or None when the bot has no turn on this message."""
    runtime = _runtime(session)
    conversation = session.get(Conversation, ctx.conversation_id)
    message = session.get(Message, ctx.message_id)
    workspace = session.get(Workspace, ctx.workspace_id)
    assert conversation is not None and message is not None and workspace is not None
    if ctx.stop or _person_active(session, conversation) or not workspace.bot_enabled:
        return None
    index = runtime.knowledge.index(session, workspace.id)
    if not len(index):
        return None  # no published article: no bot in this workspace
    language = ctx.language or conversation.language or workspace.default_language or "en"
    return conversation, message, workspace, index, language


def prepare_bot_step(session: Session, ctx: InboundContext) -> None:
    """The slow, read-only part of the bot's turn (embedding the question and searching), run
    in a read session before :func:`bot_step`'s write transaction: on SQLite a write
    transaction holds the one write lock, and no other message could be stored meanwhile."""
    turn = _turn(session, ctx)
    if turn is None:
        return
    conversation, message, _, index, language = turn
    intent = ctx.inbound.meta.get("intent")
    if intent in INTENTS or is_human_request(message.body):
        return
    if (conversation.bot_state or {}).get("awaiting_feedback") and read_feedback(message.body):
        return
    query = Query.embed(index, message.body, language)
    hits = index.search(message.body, language, k=SEARCH_K, query_vectors=query.vectors)
    ctx.notes["bot_search"] = _Prepared(message.id, language, query, hits)


def bot_step(session: Session, ctx: InboundContext) -> None:
    """The pipeline step: see the module docstring."""
    runtime = _runtime(session)
    turn = _turn(session, ctx)
    if turn is None:
        return
    conversation, message, workspace, index, language = turn
    intent = ctx.inbound.meta.get("intent")
    state = dict(conversation.bot_state or {})
    started = time.perf_counter()

    if intent == "human" or is_human_request(message.body):
        ctx.stop = True
        _hand_off(session, conversation, language, "human_request", "handoff_request")
        return

    awaiting = state.get("awaiting_feedback")
    if awaiting:
        feedback = intent if intent in ("yes", "no") else read_feedback(message.body)
        if feedback is not None:
            ctx.stop = True
            append_event(
                session,
                workspace_id=workspace.id,
                conversation_id=conversation.id,
                type="bot_feedback",
                actor=BOT,
                data={"helpful": feedback == "yes", "article_id": awaiting.get("article_id")},
            )
            state.pop("awaiting_feedback", None)
            conversation.bot_state = state
            if feedback == "yes":
                _post(
                    session,
                    conversation,
                    phrase(language, "glad"),
                    {"kind": "resolved", "language": language},
                )
                append_event(
                    session,
                    workspace_id=workspace.id,
                    conversation_id=conversation.id,
                    type="bot_resolved",
                    actor=BOT,
                    data={"article_id": awaiting.get("article_id")},
                )
                do_change_status(
                    session, conversation, "resolved", actor=BOT, reason="bot_resolved"
                )
            else:
                _hand_off(
                    session,
                    conversation,
                    language,
                    "feedback_no",
                    "handoff_no",
                    {"article_id": awaiting.get("article_id")},
                )
            return
        state.pop("awaiting_feedback", None)  # not an answer: a new question
        conversation.bot_state = state
    elif intent in ("yes", "no"):
        return  # a stale button press: nothing is being asked

    prepared = ctx.notes.get("bot_search")
    if (
        isinstance(prepared, _Prepared)
        and prepared.message_id == message.id
        and prepared.language == language
    ):
        query, hits = prepared.query, prepared.hits
    else:
        query = Query.embed(index, message.body, language)
        hits = index.search(message.body, language, k=SEARCH_K, query_vectors=query.vectors)
    decision = decide(hits)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    best = decision.best
    data: dict[str, Any] = {
        "message_id": message.id,
        "language": language,
        "probability": round(decision.probability, 4),
        "threshold": decision.threshold,
        "article_id": best.article_id if best else None,
        "score": round(best.score, 4) if best else None,
        "candidates": [h.article_id for h in hits[:3]],
        "latency_ms": elapsed_ms,
    }
    if decision.answer:
        ctx.stop = True
        _answer(session, runtime, workspace, conversation, language, decision, query)
        append_event(
            session,
            workspace_id=workspace.id,
            conversation_id=conversation.id,
            type="bot_answered",
            actor=BOT,
            data={**data, "reason": "confident"},
        )
        return

    reason = "not_confident"
    append_event(
        session,
        workspace_id=workspace.id,
        conversation_id=conversation.id,
        type="bot_declined",
        actor=BOT,
        data={**data, "reason": reason},
    )
    if conversation.channel in TICKET_CHANNELS:
        # By email the bot speaks only when it is confident: a ticket goes to a person anyway
        # (routing), and an "I don't know" with chat buttons would reach nobody.
        ctx.stop = True
        return
    misses = int(state.get("misses", 0)) + 1
    state["misses"] = misses
    conversation.bot_state = state
    ctx.stop = True
    if misses >= 2:
        _hand_off(session, conversation, language, "repeated_miss", "handoff_repeat")
        return
    meta: dict[str, Any] = {
        "kind": "declined",
        "language": language,
        "buttons": [{"value": "human", "label": phrase(language, "talk_to_person")}],
    }
    # F6: articles whose keywords (tags) the message names, unless the visitor just read the
    # help center.
    keyword_hits = keyword_matches(runtime.knowledge, workspace.id, hits, message.body)
    if keyword_hits and keyword_suggestions_allowed(session, workspace, conversation.customer_id):
        meta["suggestions"] = [
            suggestion(runtime.knowledge, workspace, h, language) for h in keyword_hits
        ]
        append_event(
            session,
            workspace_id=workspace.id,
            conversation_id=conversation.id,
            type="articles_suggested",
            actor=BOT,
            data={"article_ids": [h.article_id for h in keyword_hits], "source": "keywords"},
        )
    _post(session, conversation, phrase(language, "dont_know"), meta)

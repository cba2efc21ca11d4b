"""What the bot learns from the conversations people handled (frontdesk.knowledge.learning),
and the ``history`` flag the index gives the confidence. Fake embedders: the mechanics only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.conversations.actions import do_change_status, do_send_agent_reply
from frontdesk.conversations.events import Actor
from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.confidence import Confidence, features
from frontdesk.knowledge.embedders import HashingEmbedder
from frontdesk.knowledge.index import Hit, KnowledgeIndex
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import (
    do_add_negative_example,
    do_save_article,
    list_examples,
    list_negative_examples,
)
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, Conversation, ConversationEvent, Workspace
from tests.factories import make_agent, make_customer, make_workspace, send_chat

ARTICLES = [
    (
        "reset-password",
        "Reset your app password",
        "On the login screen tap Forgot password and open the link we email you.",
    ),
    (
        "track-order",
        "Track your order",
        "Open the link in your shipping email, or enter your order number on the Orders page.",
    ),
    (
        "charge-battery",
        "Charge the battery",
        "Plug the charger into the battery, then into a wall socket; it takes four hours.",
    ),
]


def fake_models() -> list[HashingEmbedder]:
    return [HashingEmbedder("e5"), HashingEmbedder("use")]


@pytest.fixture
def shop(runtime: Runtime) -> dict[str, Any]:
    runtime.knowledge = KnowledgeRegistry(embedders=fake_models())
    with runtime.db.write() as session:
        workspace = make_workspace(session)
        for key, title, body in ARTICLES:
            do_save_article(
                session,
                workspace.id,
                key=key,
                language="en",
                title=title,
                body=f"# {title}\n\n{body}",
                status="published",
            )
        customer = make_customer(session, workspace)
        agent = make_agent(session, workspace)
        return {
            "workspace": workspace.id,
            "slug": workspace.slug,
            "customer": customer.id,
            "agent": agent.id,
        }


def event_types(runtime: Runtime, conversation_id: int) -> list[str]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.id)
            )
        )


def agent_resolves(runtime: Runtime, shop: dict[str, Any], conversation_id: int, body: str) -> None:
    with runtime.db.write() as session:
        agent = session.get(Agent, shop["agent"])
        conversation = session.get(Conversation, conversation_id)
        assert agent is not None and conversation is not None
        do_send_agent_reply(session, conversation, agent, body=body)
        do_change_status(session, conversation, "resolved", actor=Actor("agent", agent.id))


def negatives(runtime: Runtime, shop: dict[str, Any]) -> list[tuple[str, str | None, int | None]]:
    with runtime.db.read() as session:
        return [
            (n.text, n.article_key, n.conversation_id)
            for n in list_negative_examples(session, shop["workspace"])
        ]


def test_a_question_the_bot_decided_on_and_a_person_handled_is_a_negative(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    question = "Does the charger work with the 110 V sockets in my holiday home in Florida?"
    cid = send_chat(runtime, shop, question)
    types = event_types(runtime, cid)
    assert "bot_declined" in types or "bot_answered" in types  # the bot had its turn
    assert "guardrail_triggered" not in types
    with runtime.db.read() as session:
        decision = session.scalar(
            select(ConversationEvent).where(
                ConversationEvent.conversation_id == cid,
                ConversationEvent.type.in_(("bot_declined", "bot_answered")),
            )
        )
        assert decision is not None
        proposed = decision.data["article_id"]
    agent_resolves(runtime, shop, cid, "I have corrected the invoice and sent you a new one.")
    assert negatives(runtime, shop) == [(question, proposed, cid)]
    with runtime.db.read() as session:
        assert list_examples(session, shop["workspace"]) == []
        index = runtime.knowledge.index(session, shop["workspace"])
    # a negative is data (for content-gap reports), not history for the threshold
    assert index.search(question, "en")[0].signals["history"] == 0.0

    # resolving the same conversation again learns nothing twice
    with runtime.db.write() as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        do_change_status(session, conversation, "open", actor=Actor("agent", shop["agent"]))
        do_change_status(session, conversation, "resolved", actor=Actor("agent", shop["agent"]))
    assert len(negatives(runtime, shop)) == 1


def test_no_negative_when_a_guardrail_stopped_the_bot(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    cid = send_chat(runtime, shop, "How much does a second battery cost? I would like a quote.")
    types = event_types(runtime, cid)
    assert "guardrail_triggered" in types
    assert "bot_declined" not in types and "bot_answered" not in types
    agent_resolves(runtime, shop, cid, "The quote is on its way by email.")
    assert negatives(runtime, shop) == []


def test_no_negative_after_a_request_for_a_person(runtime: Runtime, shop: dict[str, Any]) -> None:
    cid = send_chat(runtime, shop, "I want to talk to a human please")
    assert "handed_off" in event_types(runtime, cid)
    agent_resolves(runtime, shop, cid, "Hello, I am here: all sorted now.")
    assert negatives(runtime, shop) == []


def test_a_resolution_with_an_article_link_teaches_an_example_not_a_negative(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    question = "I forgot my password and cannot log in to the app"
    cid = send_chat(runtime, shop, question)
    agent_resolves(runtime, shop, cid, f"Here you go: /help/{shop['slug']}/articles/reset-password")
    assert negatives(runtime, shop) == []
    with runtime.db.read() as session:
        assert [(e.article_key, e.text) for e in list_examples(session, shop["workspace"])] == [
            ("reset-password", question)
        ]


def test_a_conversation_no_person_answered_teaches_nothing(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    cid = send_chat(
        runtime, shop, "Does the charger work with the 110 V sockets in my holiday home?"
    )
    with runtime.db.write() as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        do_change_status(session, conversation, "resolved", actor=Actor("agent", shop["agent"]))
    assert negatives(runtime, shop) == []


def test_negative_examples_are_stored_once_and_checked(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    from frontdesk.errors import InvalidInput

    with runtime.db.read() as session:
        before = session.get(Workspace, shop["workspace"]).kb_revision  # type: ignore[union-attr]
    with runtime.db.write() as session:
        first = do_add_negative_example(
            session, shop["workspace"], "  my   parcel was   damaged ", language="en"
        )
        assert first is not None and first.text == "my parcel was damaged"
        again = do_add_negative_example(
            session, shop["workspace"], "my parcel was damaged", language="en"
        )
        assert again is None
        with pytest.raises(InvalidInput, match="needs some text"):
            do_add_negative_example(session, shop["workspace"], "   ", language="en")
        with pytest.raises(InvalidInput, match="not supported"):
            do_add_negative_example(session, shop["workspace"], "hola", language="xx")
        revision = session.get(Workspace, shop["workspace"]).kb_revision  # type: ignore[union-attr]
    assert revision == before  # the search does not read them: no index has to catch up
    assert [t for t, _, _ in negatives(runtime, shop)] == ["my parcel was damaged"]


# ----- the history flag ---------------------------------------------------------------------

ANSWERED = [
    ("reset-password", "how do I reset my password"),
    ("track-order", "where is my order"),
]


def index_with(examples: int) -> KnowledgeIndex:
    index = KnowledgeIndex(fake_models())
    for key, title, body in ARTICLES:
        index.upsert_article(Article(key, title, "en", f"# {title}\n\n{body}"))
    for key, text in ANSWERED[:examples]:
        index.add_example(key, text, "en")
    return index


def test_history_says_whether_the_index_has_example_questions() -> None:
    plain = index_with(0).search("where is my order", "en")
    assert plain and all(h.signals["history"] == 0.0 for h in plain)
    index = index_with(1)
    learned = index.search("where is my order", "en")
    assert learned and all(h.signals["history"] == 1.0 for h in learned)
    # the learned signals measured and dropped are not computed
    assert not {"answerable", "example_pos", "negative_max"} & set(learned[0].signals)
    index.remove_article("reset-password", "*")  # its examples only
    assert index.search("where is my order", "en")[0].signals["history"] == 0.0


def hit(history: float) -> list[Hit]:
    index = index_with(0)
    found = index.search("where is my order", "en")
    signals = {**found[0].signals, "history": history}
    return [Hit(found[0].article_id, found[0].passage, found[0].score, signals), *found[1:]]


def test_the_learned_threshold_applies_once_there_is_history() -> None:
    model = Confidence.load()
    model.learned_threshold = 0.9
    assert model.threshold_for(hit(0.0)) == model.threshold
    assert model.threshold_for(hit(1.0)) == 0.9
    assert model.explain(hit(1.0))["threshold"] == 0.9
    again = Confidence.from_json(model.to_json())
    assert again.learned_threshold == 0.9 and again.threshold == model.threshold
    without = Confidence.from_json(model.to_json().replace('"learned_threshold": 0.9', '"x": 1'))
    assert without.learned_threshold is None
    assert without.threshold_for(hit(1.0)) == model.threshold
    # history picks the threshold; it is not a calibration feature
    assert model.probability(hit(0.0)) == model.probability(hit(1.0))
    assert features(hit(0.0)) == features(hit(1.0))
    # an index with one learned example question gets the learned threshold
    learned = index_with(1).search("where is my order", "en")
    assert model.threshold_for(learned) == 0.9
    assert model.threshold_for(index_with(0).search("where is my order", "en")) == model.threshold

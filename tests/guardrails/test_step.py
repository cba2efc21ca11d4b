"""The guardrails step end to end through the inbound pipeline (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from frontdesk.accounts.actions import create_team
from frontdesk.bot.phrases import PHRASES
from frontdesk.conversations.actions import do_assign, do_send_agent_reply
from frontdesk.conversations.events import Actor
from frontdesk.guardrails.phrases import GUARDRAIL_PHRASES
from frontdesk.guardrails.policy import default_policy, save_policy
from frontdesk.language.detect import SUPPORTED
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, ConversationEvent, Message, Workspace
from tests.factories import make_agent, make_customer, make_workspace, send_chat


def _setup(
    runtime: Runtime, teams: tuple[str, ...] = ("sales", "retention"), **attributes: Any
) -> dict[str, int]:
    with runtime.db.write() as session:
        workspace = make_workspace(session)
        ids = {"workspace": workspace.id}
        for slug in teams:
            ids[slug] = create_team(session, workspace, slug.title(), slug=slug).id
        customer = make_customer(session, workspace, attributes=attributes)
        ids["customer"] = customer.id
    return ids


def _events(runtime: Runtime, conversation_id: int) -> list[tuple[str, dict[str, Any]]]:
    with runtime.db.read() as session:
        rows = session.execute(
            select(ConversationEvent.type, ConversationEvent.data)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.id)
        ).all()
    return [(r.type, r.data or {}) for r in rows]


def _switch_off(runtime: Runtime, ids: dict[str, int], rule: str) -> None:
    with runtime.db.write() as session:
        workspace = session.get(Workspace, ids["workspace"])
        assert workspace is not None
        data = default_policy().model_dump(mode="json")
        data[rule]["enabled"] = False
        save_policy(session, workspace, data)


def test_thai_pricing_question_from_a_vip(runtime: Runtime) -> None:
    ids = _setup(runtime, vip=True)
    conversation_id = send_chat(runtime, ids, "ติดตั้งแผงโซลาร์พร้อมแบตเตอรี่ ราคาเท่าไหร่คะ")
    events = _events(runtime, conversation_id)
    types = [t for t, _ in events]
    assert "bot_answered" not in types
    triggered = next(d for t, d in events if t == "guardrail_triggered")
    assert triggered["rule"] == "pricing" and triggered["reason"] == "policy_pricing"
    assert {s["rule"] for s in triggered["signals"]} == {"pricing", "customer"}
    handed = [d for t, d in events if t == "handed_off"]
    assert len(handed) == 1 and handed[0]["reason"] == "policy_pricing"
    assert handed[0]["rule"] == "pricing"
    with runtime.db.read() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.priority == "high"
        assert conversation.team_id == ids["sales"]
        assert conversation.bot_state["handed_off"] == "policy_pricing"
        bot = session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.author_type == "bot"
            )
        ).all()
    # F4: it says it is a bot, then that a person takes over (then, with nobody online, the
    # waterfall says when someone will answer)
    assert bot[0].body == f"{PHRASES['th']['intro']} {GUARDRAIL_PHRASES['th']['handoff']}"


def test_cancellation_falls_back_to_sales(runtime: Runtime) -> None:
    ids = _setup(runtime, teams=("sales",))
    conversation_id = send_chat(runtime, ids, "Ich möchte mein Abo kündigen")
    with runtime.db.read() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.team_id == ids["sales"] and conversation.priority == "high"
    reasons = [d["reason"] for t, d in _events(runtime, conversation_id) if t == "handed_off"]
    assert reasons == ["policy_cancellation"]


def test_safety_is_urgent_and_raises_priority_in_an_assigned_conversation(runtime: Runtime) -> None:
    ids = _setup(runtime)
    conversation_id = send_chat(runtime, ids, "hola, una pregunta sobre mi factura")
    with runtime.db.write() as session:
        workspace = session.get(Workspace, ids["workspace"])
        assert workspace is not None
        agent = make_agent(session, workspace)
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        do_assign(session, conversation, team_id=None, assignee_id=agent.id, actor=Actor.system())
    send_chat(runtime, ids, "¡Sale humo del inversor!", conversation_id)
    events = _events(runtime, conversation_id)
    triggered = [d for t, d in events if t == "guardrail_triggered"]
    assert triggered and triggered[-1]["reason"] == "urgent_safety"
    assert triggered[-1]["handed_off"] is False
    with runtime.db.read() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.priority == "urgent"
        assert conversation.assignee_id is not None  # a person keeps it
        said = session.scalars(
            select(Message.body).where(
                Message.conversation_id == conversation_id, Message.author_type == "bot"
            )
        ).all()
    assert not any(GUARDRAIL_PHRASES["es"]["urgent"] in body for body in said)


def test_human_button_and_disabled_policy(runtime: Runtime) -> None:
    ids = _setup(runtime)
    conversation_id = send_chat(runtime, ids, "ok", intent="human")
    reasons = [d["reason"] for t, d in _events(runtime, conversation_id) if t == "handed_off"]
    assert reasons == ["human_request"]
    _switch_off(runtime, ids, "pricing")
    quiet = send_chat(runtime, ids, "How much does a battery cost?")
    assert "guardrail_triggered" not in [t for t, _ in _events(runtime, quiet)]


def test_phrases_in_every_language() -> None:
    assert set(GUARDRAIL_PHRASES) == set(SUPPORTED)
    keys = set(GUARDRAIL_PHRASES["en"])
    for language, table in GUARDRAIL_PHRASES.items():
        assert set(table) == keys, language
        assert all(text.strip() for text in table.values())


def test_a_case_about_one_order_goes_to_a_person_unless_switched_off(runtime: Runtime) -> None:
    ids = _setup(runtime)
    text = "My order arrived with the battery dented, please send a replacement"
    conversation_id = send_chat(runtime, ids, text)
    events = _events(runtime, conversation_id)
    triggered = next(d for t, d in events if t == "guardrail_triggered")
    assert triggered["rule"] == "case" and triggered["reason"] == "needs_person"
    assert triggered["kind"] == "delivery"
    assert triggered["team"] is None  # the policy names none: routing picks the team by topic
    handed = [d["reason"] for t, d in events if t == "handed_off"]
    assert handed == ["needs_person"]
    assert "bot_answered" not in [t for t, _ in events]
    with runtime.db.read() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.priority == "normal"
        said = session.scalars(
            select(Message.body).where(
                Message.conversation_id == conversation_id, Message.author_type == "bot"
            )
        ).all()
    assert said[0] == f"{PHRASES['en']['intro']} {GUARDRAIL_PHRASES['en']['case']}"

    _switch_off(runtime, ids, "case")
    quiet = send_chat(runtime, ids, text)
    assert "guardrail_triggered" not in [t for t, _ in _events(runtime, quiet)]


def _bot_bodies(runtime: Runtime, conversation_id: int) -> list[str]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(Message.body)
                .where(Message.conversation_id == conversation_id, Message.author_type == "bot")
                .order_by(Message.id)
            ).all()
        )


def test_asking_for_a_person_again_while_waiting_is_answered_once(runtime: Runtime) -> None:
    ids = _setup(runtime)
    conversation_id = send_chat(runtime, ids, "ok", intent="human")
    before = _bot_bodies(runtime, conversation_id)
    assert GUARDRAIL_PHRASES["en"]["waiting"] not in " ".join(before)

    send_chat(runtime, ids, "Talk to a person", conversation_id, intent="human")
    said = _bot_bodies(runtime, conversation_id)[len(before) :]
    assert said == [GUARDRAIL_PHRASES["en"]["waiting"]]  # the bot introduced itself already

    # the button pressed again, or the words: no second acknowledgement, no second handoff
    send_chat(runtime, ids, "I want to talk to a human", conversation_id)
    assert len(_bot_bodies(runtime, conversation_id)) == len(before) + 1
    reasons = [d["reason"] for t, d in _events(runtime, conversation_id) if t == "handed_off"]
    assert reasons == ["human_request"]


def test_no_queue_acknowledgement_once_an_agent_has_replied(runtime: Runtime) -> None:
    ids = _setup(runtime)
    conversation_id = send_chat(runtime, ids, "ok", intent="human")
    with runtime.db.write() as session:
        workspace = session.get(Workspace, ids["workspace"])
        conversation = session.get(Conversation, conversation_id)
        assert workspace is not None and conversation is not None
        agent = make_agent(session, workspace)
        do_send_agent_reply(session, conversation, agent, body="Hi, Ana here. How can I help?")
    count = len(_bot_bodies(runtime, conversation_id))
    send_chat(runtime, ids, "Talk to a person", conversation_id, intent="human")
    assert len(_bot_bodies(runtime, conversation_id)) == count

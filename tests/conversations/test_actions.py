from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from frontdesk.conversations.actions import (
    access_conversation,
    do_assign,
    do_change_status,
    do_send_agent_reply,
)
from frontdesk.conversations.events import Actor
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.inbound import InboundMessage, receive
from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent, Message, utcnow
from tests.factories import make_agent, make_customer, make_message, make_team, make_workspace


def event_types(session, conversation_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            select(ConversationEvent.type)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.id)
        )
    )


def test_customer_message_starts_conversation_and_is_stored_once(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        customer = make_customer(s, ws)
        ids = ws.id, customer.id
    msg = InboundMessage(
        workspace_id=ids[0], channel="chat", customer_id=ids[1], text="Bonjour?", client_id="c-1"
    )
    first = receive(runtime.db, msg)
    again = receive(runtime.db, msg)
    assert first.created_conversation and not first.duplicate
    assert again.duplicate and again.message_id == first.message_id
    with runtime.db.read() as s:
        assert s.query(Message).filter(Message.author_type == "customer").count() == 1
        # Recorded once; then, with no bot in this workspace, routed (to triage: no rules).
        assert event_types(s, first.conversation_id)[:4] == [
            "conversation_created",
            "message_received",
            "triaged",
            "routed",
        ]


def test_sequence_numbers_are_contiguous(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        agent = make_agent(s, ws)
        customer = make_customer(s, ws)
        first = make_message(s, ws, customer, "one")
        conv = access_conversation(s, ws.id, first.conversation_id)
        do_send_agent_reply(s, conv, agent, body="two")
        third = make_message(s, ws, customer, "three", conversation_id=conv.id)
    assert (first.seq, third.seq) == (1, 3)


def test_customer_reply_reopens_resolved_conversation(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        agent = make_agent(s, ws)
        customer = make_customer(s, ws)
        res = make_message(s, ws, customer)
        conv = access_conversation(s, ws.id, res.conversation_id)
        do_change_status(s, conv, "resolved", actor=Actor("agent", agent.id))
        make_message(s, ws, customer, "still broken", conversation_id=conv.id)
        assert conv.status == "open"
        changes = s.scalars(
            select(ConversationEvent.data).where(ConversationEvent.type == "status_changed")
        ).all()
    assert [c["to"] for c in changes] == ["resolved", "open"]


def test_assignment_events_distinguish_first_routing_from_reassignment(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        a, b = make_agent(s, ws), make_agent(s, ws)
        t1, t2 = make_team(s, ws, "One", [a]), make_team(s, ws, "Two", [b])
        conv = access_conversation(
            s, ws.id, make_message(s, ws, make_customer(s, ws)).conversation_id
        )
        do_assign(s, conv, team_id=t1.id, assignee_id=a.id, actor=Actor.system())
        do_assign(s, conv, team_id=t2.id, assignee_id=b.id, actor=Actor("agent", a.id))
        types = event_types(s, conv.id)
    assert types[2:] == ["team_changed", "assigned", "reassigned", "assigned"]


def test_assigning_a_non_member_or_foreign_agent_is_refused(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws, other = make_workspace(s), make_workspace(s, "Other")
        a = make_agent(s, ws)
        foreign = make_agent(s, other)
        team = make_team(s, ws, "Team")
        conv = access_conversation(
            s, ws.id, make_message(s, ws, make_customer(s, ws)).conversation_id
        )
        with pytest.raises(InvalidInput):
            do_assign(s, conv, team_id=team.id, assignee_id=a.id, actor=Actor.system())
        with pytest.raises(NotFound):
            do_assign(s, conv, team_id=None, assignee_id=foreign.id, actor=Actor.system())
        with pytest.raises(NotFound):
            access_conversation(s, other.id, conv.id)


def test_snooze_needs_a_future_time(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        conv = access_conversation(
            s, ws.id, make_message(s, ws, make_customer(s, ws)).conversation_id
        )
        with pytest.raises(InvalidInput):
            do_change_status(s, conv, "snoozed", actor=Actor.system())
        with pytest.raises(InvalidInput):
            do_change_status(
                s,
                conv,
                "snoozed",
                actor=Actor.system(),
                snoozed_until=utcnow() - timedelta(hours=1),
            )
        do_change_status(
            s, conv, "snoozed", actor=Actor.system(), snoozed_until=utcnow() + timedelta(hours=1)
        )
        assert conv.status == "snoozed"


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_001, "nul\x00byte"])
def test_bad_message_text_is_rejected_and_nothing_is_stored(runtime: Runtime, text: str) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        customer = make_customer(s, ws)
        ids = ws.id, customer.id
    with pytest.raises(InvalidInput):
        receive(
            runtime.db,
            InboundMessage(workspace_id=ids[0], channel="chat", customer_id=ids[1], text=text),
        )
    with runtime.db.read() as s:
        assert s.query(Message).count() == 0
        assert (
            s.query(ConversationEvent).filter(ConversationEvent.conversation_id.isnot(None)).count()
            == 0
        )


def test_snoozed_conversations_reopen_when_the_time_comes(runtime: Runtime) -> None:
    from frontdesk.conversations.jobs import wake_snoozed_conversations
    from frontdesk.runtime import install

    install(runtime)
    with runtime.db.write() as s:
        ws = make_workspace(s)
        conv = access_conversation(
            s, ws.id, make_message(s, ws, make_customer(s, ws)).conversation_id
        )
        do_change_status(
            s, conv, "snoozed", actor=Actor.system(), snoozed_until=utcnow() + timedelta(hours=1)
        )
        conv_id = conv.id
    wake_snoozed_conversations()
    with runtime.db.write() as s:
        conv = access_conversation(s, ws.id, conv_id)
        assert conv.status == "snoozed"  # not yet
        conv.snoozed_until = utcnow() - timedelta(seconds=1)
    wake_snoozed_conversations()
    with runtime.db.read() as s:
        conv = access_conversation(s, ws.id, conv_id)
        last = s.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conv_id)
            .order_by(ConversationEvent.id.desc())
        ).first()
    assert conv.status == "open" and conv.snoozed_until is None
    assert last is not None and last.data["reason"] == "snooze_ended"

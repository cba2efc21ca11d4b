"""The routing step through the inbound path, agent assignment inside a team, the queue, and
first-time routing accuracy: on SQLite and PostgreSQL (the ``runtime`` fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.accounts.actions import update_agent, update_team
from frontdesk.conversations.actions import do_assign, do_change_status, do_hand_off
from frontdesk.conversations.events import Actor
from frontdesk.inbound import (
    PIPELINE,
    InboundContext,
    InboundMessage,
    detect_language_step,
    receive,
)
from frontdesk.knowledge.store import do_save_article
from frontdesk.routing import learned
from frontdesk.routing.metrics import first_time_routing_accuracy
from frontdesk.routing.store import do_create_rule
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, Conversation, ConversationEvent, Team, Workspace
from tests.factories import make_agent, make_customer, make_team, make_workspace

DEVELOPERS: dict[str, Any] = {
    "name": "Developers",
    "match": "any",
    "conditions": [
        {"field": "page_url", "op": "prefix", "value": "/developers/"},
        {"field": "keywords", "op": "any", "value": ["python", "API", "webhook"]},
    ],
    "actions": {"team": "customer-support-engineers"},
}


@dataclass
class World:
    runtime: Runtime
    workspace_id: int
    engineers: int
    billing: int
    ana: int  # engineer, online
    bo: int  # engineer, online
    cy: int  # billing, online
    customer: int

    def send(
        self,
        text: str,
        *,
        channel: str = "chat",
        page_url: str | None = None,
        conversation_id: int | None = None,
        steps: Any = None,
    ) -> int:
        result = receive(
            self.runtime.db,
            InboundMessage(
                workspace_id=self.workspace_id,
                channel=channel,
                customer_id=self.customer,
                text=text,
                page_url=page_url,
                conversation_id=conversation_id,
            ),
            steps=steps,
        )
        return result.conversation_id

    def conversation(self, conversation_id: int) -> Conversation:
        with self.runtime.db.read() as s:
            c = s.get(Conversation, conversation_id)
            assert c is not None
            s.expunge(c)
            return c

    def events(self, conversation_id: int, type: str) -> list[dict[str, Any]]:
        with self.runtime.db.read() as s:
            return [
                dict(e.data)
                for e in s.scalars(
                    select(ConversationEvent)
                    .where(
                        ConversationEvent.conversation_id == conversation_id,
                        ConversationEvent.type == type,
                    )
                    .order_by(ConversationEvent.id)
                )
            ]

    def set_agent(self, agent_id: int, **changes: Any) -> None:
        with self.runtime.db.write() as s:
            agent = s.get(Agent, agent_id)
            assert agent is not None
            update_agent(s, agent, **changes)

    def rule(self, values: dict[str, Any]) -> int:
        with self.runtime.db.write() as s:
            return do_create_rule(s, self.workspace_id, values).id


@pytest.fixture
def world(runtime: Runtime) -> World:
    with runtime.db.write() as s:
        ws = make_workspace(s, "Helios")
        ana = make_agent(s, ws, name="Ana")
        bo = make_agent(s, ws, name="Bo")
        cy = make_agent(s, ws, name="Cy")
        engineers = make_team(s, ws, "Engineers", members=[ana, bo])
        engineers.slug = "customer-support-engineers"
        billing = make_team(s, ws, "Billing", members=[cy])
        customer = make_customer(
            s, ws, name="Dee", attributes={"plan": "pro", "signup_date": "2020-01-01"}
        )
        s.flush()
        return World(runtime, ws.id, engineers.id, billing.id, ana.id, bo.id, cy.id, customer.id)


def test_the_developers_rule_routes_and_assigns(world: World) -> None:
    rule_id = world.rule(DEVELOPERS)
    cid = world.send("Hi there", page_url="https://helios.example/developers/api")
    c = world.conversation(cid)
    assert c.team_id == world.engineers and c.assignee_id in (world.ana, world.bo)
    assert not c.in_triage
    [routed] = world.events(cid, "routed")
    assert routed["by"] == "rule" and routed["rule_id"] == rule_id
    assert routed["team"] == world.engineers and routed["confidence"] == 1.0
    assert world.events(cid, "team_changed")[0]["to_team_id"] == world.engineers
    # A second message does not route again.
    world.send("still there?", conversation_id=cid)
    assert len(world.events(cid, "routed")) == 1


def test_keywords_route_a_ticket_and_nothing_else_goes_to_triage(world: World) -> None:
    world.rule(DEVELOPERS)
    cid = world.send("Our Webhooks stopped firing", channel="email")
    assert world.conversation(cid).team_id == world.engineers
    other = world.send("Where is my invoice?", channel="web_form")
    c = world.conversation(other)
    assert c.team_id is None and c.in_triage
    assert world.events(other, "routed")[0]["by"] == "triage"


def test_chat_with_a_bot_is_not_routed_until_handed_off(world: World) -> None:
    world.rule(DEVELOPERS)
    with world.runtime.db.write() as s:
        do_save_article(
            s,
            world.workspace_id,
            key="x",
            language="en",
            title="X",
            body="# X\n\nText.",
            status="published",
        )

    def guardrail(session: Any, ctx: InboundContext) -> None:
        conversation = session.get(Conversation, ctx.conversation_id)
        if "human" in conversation.last_message_preview:
            do_hand_off(session, conversation, reason="human_request", actor=Actor("bot"))
            ctx.stop = True

    steps = [("language", detect_language_step), ("guardrail", guardrail), PIPELINE[-1]]
    cid = world.send("python question", steps=steps)
    assert world.events(cid, "routed") == []
    world.send("a human please", conversation_id=cid, steps=steps)
    c = world.conversation(cid)
    assert c.team_id == world.engineers  # keywords of the whole conversation
    assert world.events(cid, "routed")[0]["by"] == "rule"


def test_a_team_set_by_a_guardrail_is_kept(world: World) -> None:
    world.rule(DEVELOPERS)

    def guardrail(session: Any, ctx: InboundContext) -> None:
        conversation = session.get(Conversation, ctx.conversation_id)
        do_assign(
            session, conversation, team_id=world.billing, assignee_id=None, actor=Actor("bot")
        )
        do_hand_off(session, conversation, reason="urgent_safety", actor=Actor("bot"))

    cid = world.send("python api", steps=[("guardrail", guardrail), PIPELINE[-1]])
    c = world.conversation(cid)
    assert (c.team_id, c.assignee_id) == (world.billing, world.cy)
    assert world.events(cid, "routed")[0]["by"] == "guardrail"


def test_rule_priority_tags_and_named_agent(world: World) -> None:
    world.rule(
        {
            "name": "pro",
            "conditions": [{"field": "plan", "op": "eq", "value": "PRO"}],
            "actions": {"priority": "high", "tags": ["Pro"]},
        }
    )
    world.rule(
        {
            "name": "bo",
            "conditions": [{"field": "tenure_days", "op": "gt", "value": 365}],
            "actions": {"team": world.engineers, "agent": world.bo},
        }
    )
    cid = world.send("hello", channel="email")
    c = world.conversation(cid)
    assert (c.team_id, c.assignee_id, c.priority, c.tags) == (
        world.engineers,
        world.bo,
        "high",
        ["pro"],
    )


def test_learned_router_when_no_rule_matches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclass
    class Prediction:
        team_id: int | None
        team_confidence: float
        priority: str | None
        priority_confidence: float
        category: str | None
        threshold: float
        confident: bool

    calls: list[str] = []

    def predict(
        session: Any, workspace_id: int, conversation: Any, text: str, language: Any
    ) -> Any:
        calls.append(text)
        confident = "invoice" in text
        return Prediction(
            world.billing, 0.9 if confident else 0.2, "urgent", 0.95, "billing", 0.5, confident
        )

    monkeypatch.setattr(learned, "predict_route", predict)
    cid = world.send("my invoice is wrong", channel="email")
    c = world.conversation(cid)
    assert (c.team_id, c.assignee_id, c.priority) == (world.billing, world.cy, "urgent")
    routed = world.events(cid, "routed")[0]
    assert routed["by"] == "learned" and routed["confidence"] == 0.9
    unsure = world.send("hmm", channel="email")
    assert world.conversation(unsure).in_triage
    assert world.events(unsure, "routed")[0]["by"] == "triage"


def test_assignment_respects_availability_capacity_and_round_robin(world: World) -> None:
    world.rule(DEVELOPERS)
    world.set_agent(world.bo, capacity=1)
    first = world.send("api 1", channel="email")
    second = world.send("api 2", channel="email")
    third = world.send("api 3", channel="email")
    owners = [world.conversation(c).assignee_id for c in (first, second, third)]
    assert set(owners[:2]) == {world.ana, world.bo}  # round robin
    assert owners[2] == world.ana  # Bo is at capacity
    world.set_agent(world.ana, availability="away")
    fourth = world.send("api 4", channel="email")
    c = world.conversation(fourth)
    assert (c.team_id, c.assignee_id) == (world.engineers, None)  # waits in the queue
    assert world.events(fourth, "routed")[0]["queued"] is True


def test_least_loaded(world: World) -> None:
    world.rule(DEVELOPERS)
    with world.runtime.db.write() as s:
        team = s.get(Team, world.engineers)
        assert team is not None
        update_team(s, team, assignment="least_loaded")
    world.set_agent(world.bo, availability="away")
    for i in range(3):
        world.send(f"api {i}", channel="email")
    world.set_agent(world.bo, availability="online")  # drains nothing: queue empty
    c = world.conversation(world.send("api 4", channel="email"))
    assert c.assignee_id == world.bo  # 0 open against Ana's 3


def test_queue_drains_when_an_agent_comes_online_or_frees_a_slot(world: World) -> None:
    world.rule(DEVELOPERS)
    world.set_agent(world.ana, availability="away")
    world.set_agent(world.bo, capacity=1)
    busy = world.send("api busy", channel="email")
    assert world.conversation(busy).assignee_id == world.bo
    waiting = [world.send(f"api {i}", channel="email") for i in range(2)]
    assert [world.conversation(c).assignee_id for c in waiting] == [None, None]

    world.set_agent(world.ana, availability="online", capacity=1)
    assert [world.conversation(c).assignee_id for c in waiting] == [world.ana, None]

    with world.runtime.db.write() as s:
        conversation = s.get(Conversation, busy)
        assert conversation is not None
        do_change_status(s, conversation, "resolved", actor=Actor("agent", world.bo))
    assert world.conversation(waiting[1]).assignee_id == world.bo
    assert world.events(waiting[1], "assigned")[-1]["reason"] == "queue"


def test_manual_teams_keep_their_queue(world: World) -> None:
    world.rule(DEVELOPERS)
    with world.runtime.db.write() as s:
        team = s.get(Team, world.engineers)
        assert team is not None
        update_team(s, team, assignment="manual")
    c = world.conversation(world.send("api", channel="email"))
    assert (c.team_id, c.assignee_id) == (world.engineers, None)


def test_first_time_routing_accuracy(world: World) -> None:
    world.rule(DEVELOPERS)
    right = world.send("api question", channel="email")
    wrong = world.send("webhook question", channel="email")
    triaged = world.send("something else", channel="email")
    world.send("not routed: chat with no handoff is still routed without a bot", channel="chat")
    with world.runtime.db.write() as s:
        moved = s.get(Conversation, wrong)
        assert moved is not None
        do_assign(s, moved, team_id=world.billing, assignee_id=None, actor=Actor("agent", world.cy))
        inside = s.get(Conversation, right)
        assert inside is not None
        other = world.bo if inside.assignee_id == world.ana else world.ana
        do_assign(
            s, inside, team_id=world.engineers, assignee_id=other, actor=Actor("agent", other)
        )
        first = s.get(Conversation, triaged)
        assert first is not None
        do_assign(s, first, team_id=world.billing, assignee_id=None, actor=Actor("agent", world.cy))
    assert [e["to_team_id"] for e in world.events(wrong, "reassigned")] == [world.billing]
    with world.runtime.db.read() as s:
        result = first_time_routing_accuracy(s, world.workspace_id)
        other_ws = first_time_routing_accuracy(s, world.workspace_id + 1000)
    assert (result.conversations, result.first_time) == (4, 3)
    assert result.accuracy == 0.75
    assert result.by_method == {"rule": (2, 1), "triage": (2, 2)}
    assert other_ws.conversations == 0 and other_ws.accuracy is None


def test_other_workspaces_rules_do_not_apply(world: World, runtime: Runtime) -> None:
    with runtime.db.write() as s:
        other = make_workspace(s, "Other")
        make_team(s, other, "Elsewhere")
        other_id = other.id
        s.flush()
        assert s.get(Workspace, other_id) is not None
    world.rule(DEVELOPERS)
    with runtime.db.write() as s:
        ws = s.get(Workspace, other_id)
        assert ws is not None
        customer_id = make_customer(s, ws).id
    result = receive(
        runtime.db,
        InboundMessage(workspace_id=other_id, channel="email", customer_id=customer_id, text="api"),
    )
    with runtime.db.read() as s:
        c = s.get(Conversation, result.conversation_id)
        assert c is not None and c.team_id is None and c.in_triage

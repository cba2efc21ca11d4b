"""SLA clocks (F31): policies, business hours, pauses, warnings and breaches, on a fixed clock.

Time is frozen: ``clock`` stands in for ``utcnow`` in the event log, the conversation actions
and the SLA module, so every event happens exactly when the test says; nothing sleeps. Runs on
SQLite and on PostgreSQL (``runtime``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from frontdesk.automation import sla
from frontdesk.config import Settings
from frontdesk.conversations import actions, events
from frontdesk.conversations.actions import (
    do_assign,
    do_change_priority,
    do_change_status,
    do_hand_off,
    do_post_bot_message,
    do_send_agent_reply,
    wake_snoozed,
)
from frontdesk.conversations.events import SYSTEM, Actor
from frontdesk.domain.business_hours import BusinessHours
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.jobs.registry import JOBS
from frontdesk.knowledge.store import do_save_article
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Customer,
    SlaClock,
    SlaPolicy,
    Workspace,
)
from tests.factories import make_agent, make_customer, make_message, make_team, make_workspace

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {
    "timezone": "Europe/Berlin",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-04-03", "2026-04-06"],  # Good Friday, Easter Monday
}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(berlin(2026, 3, 2, 10, 0))  # a Monday morning
    for module in (events, actions, sla):
        monkeypatch.setattr(module, "utcnow", fixed)
    return fixed


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings, migrate=False)
    rt.jobs.huey.immediate = True
    install(rt)
    yield rt
    rt.close()


@dataclass
class World:
    workspace_id: int
    agent_id: int
    team_id: int
    other_team_id: int
    customer_id: int


@pytest.fixture
def world(runtime: Runtime, clock: Clock) -> World:
    with runtime.db.write() as s:
        ws = make_workspace(s, "Acme")
        agent = make_agent(s, ws, name="Ana")
        team = make_team(s, ws, "Billing", members=[agent])
        other = make_team(s, ws, "Tech")
        customer = make_customer(s, ws, name="Carla", email="carla@example.com")
        sla.save_business_hours(s, ws, OFFICE, now=clock())
        return World(ws.id, agent.id, team.id, other.id, customer.id)


def add_policy(runtime: Runtime, world: World, **values: Any) -> int:
    values.setdefault("name", "Default")
    with runtime.db.write() as s:
        return sla.do_create_policy(s, world.workspace_id, values).id


def start(runtime: Runtime, world: World, text: str = "My invoice is wrong") -> int:
    with runtime.db.write() as s:
        ws = s.get(Workspace, world.workspace_id)
        customer = make_customer(s, ws, name="Someone")  # type: ignore[arg-type]
        return make_message(s, ws, customer, text).conversation_id  # type: ignore[arg-type]


def clocks(runtime: Runtime, conversation_id: int) -> dict[str, SlaClock]:
    with runtime.db.read() as s:
        return {c.target: c for c in sla.clocks_of(s, conversation_id)}


def conversation(runtime: Runtime, conversation_id: int) -> Conversation:
    with runtime.db.read() as s:
        found = s.get(Conversation, conversation_id)
        assert found is not None
        return found


def alerts(runtime: Runtime, conversation_id: int | None = None) -> list[tuple[str, str]]:
    with runtime.db.read() as s:
        query = select(ConversationEvent).where(
            ConversationEvent.type.in_(("sla_warning", "sla_breached"))
        )
        if conversation_id is not None:
            query = query.where(ConversationEvent.conversation_id == conversation_id)
        return [(e.type, e.data["target"]) for e in s.scalars(query.order_by(ConversationEvent.id))]


def change(runtime: Runtime, conversation_id: int, status: str, **kwargs: Any) -> None:
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_change_status(s, conv, status, actor=SYSTEM, **kwargs)


def reply(runtime: Runtime, world: World, conversation_id: int) -> None:
    with runtime.db.write() as s:
        conv, agent = s.get(Conversation, conversation_id), s.get(Agent, world.agent_id)
        assert conv is not None and agent is not None
        do_send_agent_reply(s, conv, agent, body="Let me check.")


def customer_writes(runtime: Runtime, conversation_id: int, text: str = "Still broken") -> None:
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        ws = s.get(Workspace, conv.workspace_id)
        make_message(s, ws, conv.customer, text, conversation_id=conversation_id)  # type: ignore[arg-type]


# Starting, business hours -----------------------------------------------------------------------


def test_friday_afternoon_first_response_is_due_monday_morning(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=60, resolution_minutes=8 * 60)
    clock.set(berlin(2026, 3, 6, 16, 30))  # Friday
    conversation_id = start(runtime, world)
    found = clocks(runtime, conversation_id)
    first, resolution = found["first_response"], found["resolution"]
    assert first.status == resolution.status == "running"
    assert first.due_at == berlin(2026, 3, 9, 9, 30)  # Monday 09:30 local
    assert first.warn_at == berlin(2026, 3, 9, 9, 18)  # 80 % of an hour: 48 minutes
    assert resolution.due_at == berlin(2026, 3, 9, 16, 30)  # 30 min Friday, 7.5 h Monday
    assert conversation(runtime, conversation_id).sla_due_at == first.due_at


def test_calendar_time_policies_ignore_business_hours(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=60, business_hours=False)
    clock.set(berlin(2026, 3, 6, 16, 30))
    conversation_id = start(runtime, world)
    assert clocks(runtime, conversation_id)["first_response"].due_at == berlin(2026, 3, 6, 17, 30)
    assert "resolution" not in clocks(runtime, conversation_id)


def test_holidays_are_skipped(runtime: Runtime, world: World, clock: Clock) -> None:
    add_policy(runtime, world, first_response_minutes=120)
    clock.set(berlin(2026, 4, 2, 16, 0))  # Thursday before Easter: Friday and Monday closed
    conversation_id = start(runtime, world)
    assert clocks(runtime, conversation_id)["first_response"].due_at == berlin(2026, 4, 7, 10, 0)


def test_no_policy_no_clocks(runtime: Runtime, world: World) -> None:
    conversation_id = start(runtime, world)
    assert clocks(runtime, conversation_id) == {}
    assert conversation(runtime, conversation_id).sla_due_at is None


def test_a_chat_the_bot_handles_gets_its_clocks_at_the_handoff(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=60, resolution_minutes=240)
    with runtime.db.write() as s:  # a published article: the bot takes the first turn
        do_save_article(
            s,
            world.workspace_id,
            key="faq",
            language="en",
            title="FAQ",
            body="# FAQ\n\nHi.",
            status="published",
        )
    conversation_id = start(runtime, world)
    assert clocks(runtime, conversation_id) == {}  # the bot's: nobody is late yet
    with runtime.db.write() as s:
        ticket = make_message(
            s,
            s.get_one(Workspace, world.workspace_id),
            s.get_one(Customer, world.customer_id),
            "My invoice is wrong",
            channel="email",
        ).conversation_id
    assert clocks(runtime, ticket)["first_response"].status == "running"  # a ticket: at once

    clock.advance(minutes=30)  # the bot answered, the customer asks for a person
    with runtime.db.write() as s:
        do_hand_off(
            s, s.get_one(Conversation, conversation_id), reason="human_request", actor=SYSTEM
        )
    found = clocks(runtime, conversation_id)
    assert found["first_response"].status == "running"
    assert found["first_response"].started_at == clock()  # from the handoff
    assert found["first_response"].due_at == clock() + timedelta(minutes=60)
    assert conversation(runtime, conversation_id).sla_due_at == found["first_response"].due_at


# Meeting targets --------------------------------------------------------------------------------


def test_agent_reply_meets_the_first_response_bot_messages_do_not(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=60, resolution_minutes=240)
    conversation_id = start(runtime, world)
    clock.advance(minutes=5)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_post_bot_message(s, conv, body="I'm a bot; a person will answer.")
    assert clocks(runtime, conversation_id)["first_response"].status == "running"
    clock.advance(minutes=15)
    reply(runtime, world, conversation_id)
    found = clocks(runtime, conversation_id)
    assert found["first_response"].status == "met"
    assert found["first_response"].used_seconds == 20 * 60
    assert found["first_response"].stopped_at == clock()
    assert found["resolution"].status == "running"
    assert conversation(runtime, conversation_id).sla_due_at == found["resolution"].due_at
    clock.advance(minutes=10)
    change(runtime, conversation_id, "resolved")
    found = clocks(runtime, conversation_id)
    assert found["resolution"].status == "met" and found["resolution"].used_seconds == 30 * 60
    assert conversation(runtime, conversation_id).sla_due_at is None


def test_pending_pauses_and_the_clock_resumes_with_what_it_used(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=60)
    conversation_id = start(runtime, world)  # Monday 10:00
    clock.advance(minutes=20)
    change(runtime, conversation_id, "pending")
    paused = clocks(runtime, conversation_id)["first_response"]
    assert (paused.status, paused.used_seconds) == ("paused", 20 * 60)
    assert conversation(runtime, conversation_id).sla_due_at is None
    clock.advance(hours=3)  # 13:20: three hours on the customer's side
    customer_writes(runtime, conversation_id)  # reopens it
    resumed = clocks(runtime, conversation_id)["first_response"]
    assert resumed.status == "running"
    assert resumed.due_at == berlin(2026, 3, 2, 14, 0)  # 40 minutes left
    assert resumed.warn_at == berlin(2026, 3, 2, 13, 48)
    assert conversation(runtime, conversation_id).sla_due_at == resumed.due_at


def test_snoozed_pauses_and_waking_resumes(runtime: Runtime, world: World, clock: Clock) -> None:
    add_policy(runtime, world, first_response_minutes=60, business_hours=False)
    conversation_id = start(runtime, world)
    clock.advance(minutes=30)
    change(runtime, conversation_id, "snoozed", snoozed_until=clock() + timedelta(days=1))
    assert clocks(runtime, conversation_id)["first_response"].status == "paused"
    clock.advance(days=1, minutes=1)
    with runtime.db.write() as s:
        assert wake_snoozed(s, clock()) == [conversation_id]
    resumed = clocks(runtime, conversation_id)["first_response"]
    assert resumed.status == "running" and resumed.due_at == clock() + timedelta(minutes=30)


def test_a_customer_reply_to_a_resolved_conversation_resumes_the_resolution_clock(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=30, resolution_minutes=120)
    conversation_id = start(runtime, world)
    clock.advance(minutes=10)
    reply(runtime, world, conversation_id)
    clock.advance(minutes=20)
    change(runtime, conversation_id, "resolved")
    assert clocks(runtime, conversation_id)["resolution"].status == "met"
    clock.advance(days=1)  # Tuesday 10:30
    customer_writes(runtime, conversation_id, "It broke again")
    found = clocks(runtime, conversation_id)
    assert found["first_response"].status == "met"  # given once, stays given
    assert found["resolution"].status == "running"
    assert found["resolution"].used_seconds == 30 * 60
    assert found["resolution"].due_at == clock() + timedelta(minutes=90)
    assert conversation(runtime, conversation_id).sla_due_at == found["resolution"].due_at


def test_resolving_an_unanswered_conversation_pauses_its_first_response(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=30, resolution_minutes=120)
    conversation_id = start(runtime, world)
    clock.advance(minutes=5)
    change(runtime, conversation_id, "resolved")  # the bot solved it, say
    found = clocks(runtime, conversation_id)
    assert (found["first_response"].status, found["resolution"].status) == ("paused", "met")
    clock.advance(minutes=5)
    customer_writes(runtime, conversation_id)
    found = clocks(runtime, conversation_id)
    assert found["first_response"].status == "running"
    assert found["first_response"].due_at == clock() + timedelta(minutes=25)


# Policies: matching and re-targeting ------------------------------------------------------------


def test_first_matching_enabled_policy_by_position(runtime: Runtime, world: World) -> None:
    add_policy(runtime, world, name="Any", first_response_minutes=240)
    urgent = add_policy(runtime, world, name="Urgent", priority="urgent", first_response_minutes=15)
    billing = add_policy(
        runtime, world, name="Billing", team_id=world.team_id, first_response_minutes=60
    )
    with runtime.db.write() as s:
        sla.do_reorder_policies(s, world.workspace_id, [urgent, billing])
        policies = sla.list_policies(s, world.workspace_id)
        assert [p.name for p in policies] == ["Urgent", "Billing", "Any"]
        assert [p.position for p in policies] == [0, 1, 2]
        pick = sla.match_policy
        assert pick(policies, "urgent", world.team_id).name == "Urgent"  # type: ignore[union-attr]
        assert pick(policies, "normal", world.team_id).name == "Billing"  # type: ignore[union-attr]
        assert pick(policies, "normal", None).name == "Any"  # type: ignore[union-attr]
        sla.do_update_policy(
            s, sla.access_policy(s, world.workspace_id, urgent), {"enabled": False}
        )
        assert pick(sla.list_policies(s, world.workspace_id), "urgent", None).name == "Any"  # type: ignore[union-attr]


def test_priority_change_retargets_the_running_clock(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, name="Urgent", priority="urgent", first_response_minutes=30)
    add_policy(runtime, world, name="Any", first_response_minutes=240)
    conversation_id = start(runtime, world)
    assert clocks(runtime, conversation_id)["first_response"].budget_seconds == 240 * 60
    clock.advance(minutes=10)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_change_priority(s, conv, "urgent", actor=SYSTEM)
    first = clocks(runtime, conversation_id)["first_response"]
    assert first.budget_seconds == 30 * 60 and first.used_seconds == 10 * 60
    assert first.due_at == clock() + timedelta(minutes=20)
    assert first.started_at == berlin(2026, 3, 2, 10, 0)  # the same clock, re-targeted
    assert conversation(runtime, conversation_id).sla_due_at == first.due_at


def test_a_retarget_past_the_new_target_breaches_at_once(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, name="Urgent", priority="urgent", first_response_minutes=15)
    add_policy(runtime, world, name="Any", first_response_minutes=240)
    conversation_id = start(runtime, world)
    clock.advance(minutes=20)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_change_priority(s, conv, "urgent", actor=SYSTEM)
    assert alerts(runtime, conversation_id) == [
        ("sla_warning", "first_response"),
        ("sla_breached", "first_response"),
    ]


def test_team_change_applies_the_teams_policy_and_no_policy_cancels(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, name="Billing", team_id=world.team_id, first_response_minutes=60)
    conversation_id = start(runtime, world)
    assert clocks(runtime, conversation_id) == {}  # no team yet: no policy applies
    clock.advance(minutes=5)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_assign(s, conv, team_id=world.team_id, assignee_id=None, actor=SYSTEM)
    first = clocks(runtime, conversation_id)["first_response"]
    assert first.status == "running" and first.started_at == clock()  # starts when it applies
    assert first.due_at == clock() + timedelta(hours=1)
    clock.advance(minutes=10)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_assign(s, conv, team_id=world.other_team_id, assignee_id=None, actor=SYSTEM)
    cancelled = clocks(runtime, conversation_id)["first_response"]
    assert cancelled.status == "cancelled" and cancelled.used_seconds == 10 * 60
    assert conversation(runtime, conversation_id).sla_due_at is None
    clock.advance(minutes=30)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_assign(s, conv, team_id=world.team_id, assignee_id=None, actor=SYSTEM)
    back = clocks(runtime, conversation_id)["first_response"]
    assert back.status == "running" and back.due_at == clock() + timedelta(minutes=50)


def test_a_policy_created_later_applies_when_the_conversation_reopens(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    conversation_id = start(runtime, world)
    change(runtime, conversation_id, "pending")
    add_policy(runtime, world, first_response_minutes=60)
    clock.advance(minutes=30)
    customer_writes(runtime, conversation_id)
    first = clocks(runtime, conversation_id)["first_response"]
    assert first.started_at == clock() and first.due_at == clock() + timedelta(hours=1)


def test_policy_validation_and_tenancy(runtime: Runtime, world: World) -> None:
    with runtime.db.write() as s:
        other = make_workspace(s, "Globex")
        foreign_team = make_team(s, other, "Sales").id
    bad: list[tuple[dict[str, Any], str]] = [
        ({"name": "x"}, "first_response_minutes"),
        ({"name": " ", "first_response_minutes": 5}, "name"),
        ({"name": "x", "first_response_minutes": 0}, "first_response_minutes"),
        ({"name": "x", "resolution_minutes": 10**9}, "resolution_minutes"),
        ({"name": "x", "first_response_minutes": "60"}, "first_response_minutes"),
        ({"name": "x", "first_response_minutes": 5, "priority": "asap"}, "priority"),
        ({"name": "x", "first_response_minutes": 5, "warn_at_percent": 100}, "warn_at_percent"),
        ({"name": "x", "first_response_minutes": 5, "workspace_id": 9}, "workspace_id"),
    ]
    for values, field in bad:
        with pytest.raises(InvalidInput) as caught, runtime.db.write() as s:
            sla.do_create_policy(s, world.workspace_id, values)
        assert field in {d["field"] for d in caught.value.details}, (values, caught.value.details)
    with pytest.raises(NotFound), runtime.db.write() as s:
        sla.do_create_policy(
            s,
            world.workspace_id,
            {"name": "x", "first_response_minutes": 5, "team_id": foreign_team},
        )
    with runtime.db.read() as s:
        assert sla.list_policies(s, world.workspace_id) == []  # nothing was stored
    policy_id = add_policy(runtime, world, first_response_minutes=5)
    with pytest.raises(NotFound), runtime.db.read() as s:
        sla.access_policy(s, other.id, policy_id)


# Warnings and breaches --------------------------------------------------------------------------


def test_warning_at_80_percent_then_breach_each_once(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    published: list[dict[str, Any]] = []
    original = runtime.bus.publish

    def spy(channel: str, message: dict[str, Any]) -> None:
        if message.get("type") == "sla.alert":
            published.append(message)
        original(channel, message)

    runtime.bus.publish = spy  # type: ignore[method-assign]
    conversation_id = start(runtime, world)
    with runtime.db.write() as s:
        conv = s.get(Conversation, conversation_id)
        assert conv is not None
        do_assign(s, conv, team_id=world.team_id, assignee_id=None, actor=SYSTEM)
    t0 = clock()
    assert sla.sweep(runtime, now=t0 + timedelta(minutes=7, seconds=59)) == 0
    assert sla.sweep(runtime, now=t0 + timedelta(minutes=8)) == 1
    assert sla.sweep(runtime, now=t0 + timedelta(minutes=9)) == 0
    assert alerts(runtime, conversation_id) == [("sla_warning", "first_response")]
    assert sla.sweep(runtime, now=t0 + timedelta(minutes=10)) == 1
    assert sla.sweep(runtime, now=t0 + timedelta(minutes=11)) == 0
    assert alerts(runtime, conversation_id) == [
        ("sla_warning", "first_response"),
        ("sla_breached", "first_response"),
    ]
    with runtime.db.read() as s:
        breach = s.scalars(
            select(ConversationEvent).where(ConversationEvent.type == "sla_breached")
        ).one()
        assert breach.data["percent"] == 100 and breach.data["policy"] == "Default"
        assert breach.data["due_at"] == (t0 + timedelta(minutes=10)).isoformat()
        assert breach.data["team_id"] == world.team_id
        warning = s.scalars(
            select(ConversationEvent).where(ConversationEvent.type == "sla_warning")
        ).one()
        assert warning.data["percent"] == 80
    assert [(m["kind"], m["team_id"], m["conversation_id"]) for m in published] == [
        ("warning", world.team_id, conversation_id),
        ("breached", world.team_id, conversation_id),
    ]
    # A breached clock keeps running until the reply: then it ends "breached", not "met".
    first = clocks(runtime, conversation_id)["first_response"]
    assert first.status == "running" and first.breached_at == t0 + timedelta(minutes=10)
    clock.set(t0 + timedelta(minutes=25))
    reply(runtime, world, conversation_id)
    assert clocks(runtime, conversation_id)["first_response"].status == "breached"
    assert len(alerts(runtime, conversation_id)) == 2


def test_a_late_reply_before_any_sweep_still_records_the_breach_once(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    conversation_id = start(runtime, world)
    clock.advance(minutes=12)
    reply(runtime, world, conversation_id)
    assert clocks(runtime, conversation_id)["first_response"].status == "breached"
    assert alerts(runtime, conversation_id) == [("sla_breached", "first_response")]
    assert sla.sweep(runtime, now=clock() + timedelta(hours=1)) == 0


def test_paused_clocks_never_fire(runtime: Runtime, world: World, clock: Clock) -> None:
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    conversation_id = start(runtime, world)
    clock.advance(minutes=5)
    change(runtime, conversation_id, "pending")
    assert sla.sweep(runtime, now=clock() + timedelta(days=3)) == 0
    assert alerts(runtime, conversation_id) == []


def test_two_sweepers_at_once_fire_each_alert_once(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    ids = [start(runtime, world, f"Question {i}") for i in range(6)]
    later = clock() + timedelta(minutes=30)
    barrier = threading.Barrier(2)
    counts: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            counts.append(sla.sweep(runtime, now=later))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    assert sum(counts) == 12  # a warning and a breach per conversation, whoever fired them
    with runtime.db.read() as s:
        per_type = dict(
            s.execute(
                select(ConversationEvent.type, func.count())
                .where(ConversationEvent.type.in_(("sla_warning", "sla_breached")))
                .group_by(ConversationEvent.type)
            ).all()
        )
    assert per_type == {"sla_warning": 6, "sla_breached": 6}
    assert all(len(alerts(runtime, i)) == 2 for i in ids)


def test_the_timer_job_fires_at_its_moment(runtime: Runtime, world: World, clock: Clock) -> None:
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    conversation_id = start(runtime, world)
    first = clocks(runtime, conversation_id)["first_response"]
    scheduled = [t for t in runtime.jobs.huey.scheduled() if t.name == "sla_timer"]
    assert sorted(t.args for t in scheduled) == [(first.id,), (first.id,)]  # warning and breach
    sla.sla_timer(first.id)  # too early: nothing
    assert alerts(runtime, conversation_id) == []
    clock.advance(minutes=8)
    sla.sla_timer(first.id)
    sla.sla_timer(first.id)  # a duplicate delivery of the job: still once
    assert alerts(runtime, conversation_id) == [("sla_warning", "first_response")]


def test_sweep_is_a_periodic_job_every_minute() -> None:
    assert JOBS["sla_sweep"].schedule == {"minute": "*"}
    assert "sla_timer" in JOBS


def test_a_restarted_runtime_fires_the_due_breach(
    settings: Settings, world: World, runtime: Runtime, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    conversation_id = start(runtime, world)
    runtime.close()  # the process dies; its scheduled timer jobs die with it
    restarted = Runtime.build(settings, migrate=False)
    restarted.jobs.huey.immediate = True
    install(restarted)
    try:
        assert restarted.jobs.huey.scheduled() == []
        assert sla.sweep(restarted, now=clock() + timedelta(minutes=15)) == 2
        assert alerts(restarted, conversation_id) == [
            ("sla_warning", "first_response"),
            ("sla_breached", "first_response"),
        ]
    finally:
        restarted.close()


def test_alerts_reach_webhooks(runtime: Runtime, world: World, clock: Clock) -> None:
    from frontdesk.store.models import WebhookDelivery, WebhookEndpoint

    with runtime.db.write() as s:
        s.add(
            WebhookEndpoint(
                workspace_id=world.workspace_id,
                url="https://hooks.example.com/sla",
                secret="s",
                event_types=["sla_breached"],
            )
        )
    add_policy(runtime, world, first_response_minutes=10, business_hours=False)
    start(runtime, world)
    runtime.jobs.huey.immediate = False  # keep the delivery in the outbox; no network here
    sla.sweep(runtime, now=clock() + timedelta(minutes=11))
    with runtime.db.read() as s:
        deliveries = s.scalars(select(WebhookDelivery)).all()
    assert [d.event_type for d in deliveries] == ["sla_breached"]
    assert deliveries[0].payload["data"]["data"]["target"] == "first_response"


# Business hours changes -------------------------------------------------------------------------


def test_new_business_hours_replan_running_clocks(
    runtime: Runtime, world: World, clock: Clock
) -> None:
    add_policy(runtime, world, first_response_minutes=120)
    conversation_id = start(runtime, world)  # Monday 10:00, due 12:00
    assert clocks(runtime, conversation_id)["first_response"].due_at == berlin(2026, 3, 2, 12)
    clock.advance(minutes=30)
    with runtime.db.write() as s:
        ws = s.get(Workspace, world.workspace_id)
        assert ws is not None
        sla.save_business_hours(
            s,
            ws,
            {
                "timezone": "Europe/Berlin",
                "weekly": {"mon": [["09:00", "11:00"]], "tue": [["09:00", "17:00"]]},
            },
            now=clock(),
        )
    first = clocks(runtime, conversation_id)["first_response"]
    assert first.used_seconds == 30 * 60
    assert first.due_at == berlin(2026, 3, 3, 10, 0)  # 30 min left today, 60 on Tuesday
    assert conversation(runtime, conversation_id).sla_due_at == first.due_at
    with runtime.db.write() as s:
        ws = s.get(Workspace, world.workspace_id)
        assert ws is not None
        sla.clear_business_hours(s, ws, now=clock())
        assert "business_hours" not in ws.settings
    assert clocks(runtime, conversation_id)["first_response"].due_at == clock() + timedelta(
        minutes=90
    )


def test_invalid_business_hours_change_nothing(runtime: Runtime, world: World) -> None:
    with pytest.raises(InvalidInput), runtime.db.write() as s:
        ws = s.get(Workspace, world.workspace_id)
        assert ws is not None
        sla.save_business_hours(
            s, ws, {"timezone": "Europe/Berlin", "weekly": {"mon": [["10:00", "09:00"]]}}
        )
    with runtime.db.read() as s:
        ws = s.get(Workspace, world.workspace_id)
        assert ws is not None
        assert ws.settings["business_hours"] == BusinessHours.parse(OFFICE).to_settings()


# The inbox badge ---------------------------------------------------------------------------------


def test_badges(runtime: Runtime, world: World, clock: Clock) -> None:
    add_policy(runtime, world, first_response_minutes=200, business_hours=False)
    conversation_id = start(runtime, world)
    t0 = clock()
    with runtime.db.read() as s:
        at = sla.sla_badges(s, [conversation_id], t0 + timedelta(minutes=50))[conversation_id]
        assert (at.level, at.text) == ("ok", "2h 30m left")
        at = sla.sla_badges(s, [conversation_id], t0 + timedelta(minutes=170))[conversation_id]
        assert (at.level, at.text) == ("warning", "30m left")
        at = sla.sla_badges(s, [conversation_id], t0 + timedelta(minutes=215))[conversation_id]
        assert (at.level, at.text) == ("breached", "breached 15m ago")
    change(runtime, conversation_id, "pending")
    with runtime.db.read() as s:
        assert sla.sla_badges(s, [conversation_id], t0)[conversation_id].level == "paused"
    assert [sla.span_text(s) for s in (30, 60, 3600, 7800, 86400, 90000 + 3600)] == [
        "<1m",
        "1m",
        "1h",
        "2h 10m",
        "1d",
        "1d 2h",
    ]


def test_events_without_an_actor_do_not_confuse_the_listener(
    runtime: Runtime, world: World
) -> None:
    with runtime.db.write() as s:
        events.append_event(
            s,
            workspace_id=world.workspace_id,
            conversation_id=None,
            type="status_changed",
            actor=Actor("system"),
            data={"to": "open"},
        )
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(SlaClock)) == 0
        assert s.scalar(select(func.count()).select_from(SlaPolicy)) == 0

"""Agent assignment inside a team (F18).

A team's ``assignment`` says how its conversations reach an agent:

* ``round_robin``: the eligible agent who was given a conversation longest ago
  (``agents.last_assigned_at``; never given one comes first);
* ``least_loaded``: the eligible agent with the fewest open or pending conversations;
* ``manual``: nobody is picked; the conversation waits in the team's queue.

Eligible: an active member of the team who is online and below their capacity (the number of
open or pending conversations assigned to them). When nobody is eligible the conversation waits
in the team queue (team set, no assignee). The queue drains by itself: when an agent comes
online (``agent_availability_changed``) and when an agent's conversation stops being open or
pending (resolved, closed, snoozed), through the event listener :func:`on_routing_event`, in
the same transaction as the change. Oldest and most urgent first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from frontdesk.conversations.actions import do_assign
from frontdesk.conversations.events import Actor, on_event
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Team,
    TeamMember,
    utcnow,
)

__all__ = [
    "ACTIVE_STATUSES",
    "agent_loads",
    "assign_in_team",
    "drain_for_agent",
    "drain_team_queue",
    "eligible_agents",
    "on_routing_event",
    "pick_agent",
]

ACTIVE_STATUSES = ("open", "pending")
AUTOMATIC = ("round_robin", "least_loaded")
_NEVER = datetime.min.replace(tzinfo=UTC)
_QUEUE_BATCH = 200


def agent_loads(session: Session, workspace_id: int, agent_ids: Sequence[int]) -> dict[int, int]:
    """Open or pending conversations assigned to each agent."""
    if not agent_ids:
        return {}
    rows = session.execute(
        select(Conversation.assignee_id, func.count(Conversation.id))
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.assignee_id.in_(list(agent_ids)),
            Conversation.status.in_(ACTIVE_STATUSES),
        )
        .group_by(Conversation.assignee_id)
    )
    loads = dict.fromkeys(agent_ids, 0)
    for agent_id, count in rows:
        if agent_id is not None:
            loads[int(agent_id)] = int(count)
    return loads


def eligible_agents(session: Session, team: Team) -> list[tuple[Agent, int]]:
    """Active, online members of ``team`` below their capacity, with their load.

    The rows are locked (PostgreSQL) so two simultaneous assignments cannot both take an
    agent's last free slot; SQLite serialises writers anyway."""
    agents = list(
        session.scalars(
            select(Agent)
            .join(TeamMember, TeamMember.agent_id == Agent.id)
            .where(
                TeamMember.team_id == team.id,
                Agent.workspace_id == team.workspace_id,
                Agent.is_active,
                Agent.availability == "online",
            )
            .order_by(Agent.id)
            .with_for_update(of=Agent)
        )
    )
    loads = agent_loads(session, team.workspace_id, [a.id for a in agents])
    return [(a, loads[a.id]) for a in agents if loads[a.id] < a.capacity]


def pick_agent(session: Session, team: Team) -> Agent | None:
    """The agent of ``team`` who gets the next conversation, or None (it waits in the queue)."""
    if team.assignment not in AUTOMATIC:
        return None
    candidates = eligible_agents(session, team)
    if not candidates:
        return None
    if team.assignment == "least_loaded":
        best = min(candidates, key=lambda c: (c[1], c[0].last_assigned_at or _NEVER, c[0].id))
    else:
        best = min(candidates, key=lambda c: (c[0].last_assigned_at or _NEVER, c[0].id))
    return best[0]


def assign_in_team(
    session: Session,
    conversation: Conversation,
    team: Team,
    *,
    actor: Actor,
    reason: str | None = None,
) -> Agent | None:
    """Give ``conversation`` to ``team`` and to the agent its strategy picks (if any)."""
    agent = pick_agent(session, team)
    do_assign(
        session,
        conversation,
        team_id=team.id,
        assignee_id=agent.id if agent is not None else None,
        actor=actor,
        reason=reason,
    )
    if agent is not None:
        agent.last_assigned_at = utcnow()
        session.flush()
    return agent


_PRIORITY_ORDER = case(
    (Conversation.priority == "urgent", 0),
    (Conversation.priority == "high", 1),
    (Conversation.priority == "normal", 2),
    else_=3,
)


def drain_team_queue(session: Session, team: Team, *, actor: Actor | None = None) -> list[int]:
    """Assign the team's waiting conversations while an agent is eligible; their ids."""
    if team.assignment not in AUTOMATIC:
        return []
    assigned: list[int] = []
    waiting = session.scalars(
        select(Conversation)
        .where(
            Conversation.workspace_id == team.workspace_id,
            Conversation.team_id == team.id,
            Conversation.assignee_id.is_(None),
            Conversation.status == "open",
        )
        .order_by(_PRIORITY_ORDER, Conversation.last_message_at, Conversation.id)
        .limit(_QUEUE_BATCH)
    ).all()
    for conversation in waiting:
        agent = pick_agent(session, team)
        if agent is None:
            break
        do_assign(
            session,
            conversation,
            team_id=team.id,
            assignee_id=agent.id,
            actor=actor or Actor.system(),
            reason="queue",
        )
        agent.last_assigned_at = utcnow()
        session.flush()
        assigned.append(conversation.id)
    return assigned


def drain_for_agent(session: Session, agent: Agent) -> list[int]:
    """After ``agent`` came online or freed a slot: drain the queues of the agent's teams."""
    if not agent.is_active or agent.availability != "online":
        return []
    teams = session.scalars(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.agent_id == agent.id, Team.workspace_id == agent.workspace_id)
        .order_by(Team.id)
    ).all()
    assigned: list[int] = []
    for team in teams:
        assigned += drain_team_queue(session, team)
    return assigned


@on_event
def on_routing_event(session: Session, event: ConversationEvent) -> None:
    """Listener (registered by importing this module; the runtime does): drain queues when an
    agent comes online or one of their conversations stops needing them."""
    data = event.data or {}
    if event.type == "agent_availability_changed" and data.get("availability") == "online":
        agent = session.get(Agent, data.get("agent_id"))
        if agent is not None and agent.workspace_id == event.workspace_id:
            drain_for_agent(session, agent)
        return
    if (
        event.type == "status_changed"
        and event.conversation_id is not None
        and data.get("from") in ACTIVE_STATUSES
        and data.get("to") not in ACTIVE_STATUSES
    ):
        conversation = session.get(Conversation, event.conversation_id)
        if conversation is None or conversation.assignee_id is None:
            return
        agent = session.get(Agent, conversation.assignee_id)
        if agent is not None:
            drain_for_agent(session, agent)

"""/api/v1/agents: the people who answer, their roles, availability and capacity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.accounts.actions import access_agent, create_agent, create_agent_token, update_agent
from frontdesk.errors import Conflict
from frontdesk.store.models import Agent, TeamMember, Workspace, utcnow
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paginate
from frontdesk.web.api.params import AgentId
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    AgentCreate,
    AgentInvited,
    AgentPage,
    AgentPublic,
    AgentUpdate,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep, base_url

router = APIRouter(prefix="/agents", tags=["agents"], route_class=ApiRoute)

INVITE_HOURS = 72


def _public(session: Session, agents: Sequence[Agent]) -> list[AgentPublic]:
    """Agents with their team ids, in one query for all of them."""
    teams: dict[int, list[int]] = defaultdict(list)
    if agents:
        rows = session.execute(
            select(TeamMember.agent_id, TeamMember.team_id)
            .where(TeamMember.agent_id.in_([a.id for a in agents]))
            .order_by(TeamMember.team_id)
        )
        for agent_id, team_id in rows:
            teams[agent_id].append(team_id)
    return [
        AgentPublic.model_validate(
            {
                "id": a.id,
                "email": a.email,
                "name": a.name,
                "role": a.role,
                "availability": a.availability,
                "capacity": a.capacity,
                "is_active": a.is_active,
                "team_ids": teams[a.id],
                "created_at": a.created_at,
            }
        )
        for a in agents
    ]


@router.get("", summary="List agents", responses=error_responses(401, 422))
def list_agents(
    client: ApiClientDep, runtime: RuntimeDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> AgentPage:
    after = decode_cursor(runtime, "agents", cursor)
    query = select(Agent).where(Agent.workspace_id == client.workspace_id)
    if after is not None:
        query = query.where(Agent.id > after)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(Agent.id).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "agents", rows, limit, lambda a: a.id)
        return AgentPage(data=_public(session, page), next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Invite an agent",
    description="Creates the agent without a password and returns a single-use invitation "
    f"link, valid {INVITE_HOURS} hours, with which they choose one.",
    responses=error_responses(400, 401, 409, 413, 422),
)
def invite(
    body: AgentCreate, client: ApiClientDep, runtime: RuntimeDep, request: Request
) -> AgentInvited:
    try:
        with runtime.db.write() as session:
            workspace = session.get(Workspace, client.workspace_id)
            assert workspace is not None  # the token's workspace: checked by the dependency
            agent = create_agent(
                session, workspace, email=body.email, name=body.name, role=body.role
            )
            token = create_agent_token(session, agent, "invite", hours=INVITE_HOURS)
            public = _public(session, [agent])[0]
    except IntegrityError:  # a simultaneous invitation of the same email won the race
        raise Conflict("An agent with this email exists already in this workspace.") from None
    return AgentInvited(
        agent=public,
        invite_url=f"{base_url(request)}/invite/{token}",
        invite_expires_at=utcnow() + timedelta(hours=INVITE_HOURS),
    )


@router.get("/{agent_id}", summary="Get an agent", responses=error_responses(401, 404, 422))
def get_agent(agent_id: AgentId, client: ApiClientDep, runtime: RuntimeDep) -> AgentPublic:
    with runtime.db.read() as session:
        return _public(session, [access_agent(session, client.workspace_id, agent_id)])[0]


@router.patch(
    "/{agent_id}",
    summary="Update an agent",
    description="Name, role, availability, capacity and whether the agent is active. The "
    "workspace's last active admin cannot lose that role or be deactivated (409). A "
    "deactivated agent is logged out everywhere.",
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
def update(
    agent_id: AgentId, body: AgentUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> AgentPublic:
    with runtime.db.write() as session:
        agent = access_agent(session, client.workspace_id, agent_id)
        update_agent(
            session,
            agent,
            name=body.name if body.name is not MISSING else None,
            role=body.role if body.role is not MISSING else None,
            availability=body.availability if body.availability is not MISSING else None,
            capacity=body.capacity if body.capacity is not MISSING else None,
            is_active=body.is_active if body.is_active is not MISSING else None,
        )
        return _public(session, [agent])[0]

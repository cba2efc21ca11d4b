"""/api/v1/teams: teams and their members."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from fastapi import APIRouter, Response
from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.accounts.actions import (
    access_team,
    create_team,
    delete_team,
    set_team_members,
    update_team,
)
from frontdesk.conversations.actions import do_assign
from frontdesk.conversations.events import Actor
from frontdesk.errors import Conflict
from frontdesk.store.models import Agent, Conversation, Team, TeamMember, Workspace
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paginate
from frontdesk.web.api.params import TeamId
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    TeamCreate,
    TeamMembers,
    TeamPage,
    TeamPublic,
    TeamUpdate,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/teams", tags=["teams"], route_class=ApiRoute)


def _public(session: Session, teams: Sequence[Team]) -> list[TeamPublic]:
    """Teams with their member ids, in one query for all of them."""
    members: dict[int, list[int]] = defaultdict(list)
    if teams:
        rows = session.execute(
            select(TeamMember.team_id, TeamMember.agent_id)
            .where(TeamMember.team_id.in_([t.id for t in teams]))
            .order_by(TeamMember.agent_id)
        )
        for team_id, agent_id in rows:
            members[team_id].append(agent_id)
    return [
        TeamPublic.model_validate(
            {
                "id": t.id,
                "slug": t.slug,
                "name": t.name,
                "description": t.description,
                "assignment": t.assignment,
                "member_ids": members[t.id],
                "created_at": t.created_at,
            }
        )
        for t in teams
    ]


@router.get("", summary="List teams", responses=error_responses(401, 422))
def list_teams(
    client: ApiClientDep, runtime: RuntimeDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> TeamPage:
    after = decode_cursor(runtime, "teams", cursor)
    query = select(Team).where(Team.workspace_id == client.workspace_id)
    if after is not None:
        query = query.where(Team.id > after)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(Team.id).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "teams", rows, limit, lambda t: t.id)
        return TeamPage(data=_public(session, page), next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a team",
    description="The slug defaults to one made from the name.",
    responses=error_responses(400, 401, 409, 413, 422),
)
def create(body: TeamCreate, client: ApiClientDep, runtime: RuntimeDep) -> TeamPublic:
    try:
        with runtime.db.write() as session:
            workspace = session.get(Workspace, client.workspace_id)
            assert workspace is not None  # the token's workspace: checked by the dependency
            team = create_team(
                session,
                workspace,
                body.name,
                slug=body.slug if body.slug is not MISSING else None,
                description=body.description if body.description is not MISSING else "",
            )
            if body.assignment is not MISSING:
                update_team(session, team, assignment=body.assignment)
            result = _public(session, [team])[0]
    except IntegrityError:  # a simultaneous create with the same slug won the race
        raise Conflict("A team with this slug exists already.") from None
    return result


@router.get("/{team_id}", summary="Get a team", responses=error_responses(401, 404, 422))
def get_team(team_id: TeamId, client: ApiClientDep, runtime: RuntimeDep) -> TeamPublic:
    with runtime.db.read() as session:
        return _public(session, [access_team(session, client.workspace_id, team_id)])[0]


@router.patch(
    "/{team_id}",
    summary="Update a team",
    description="Name, description and assignment strategy; fields left out stay as they are.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def update(
    team_id: TeamId, body: TeamUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> TeamPublic:
    with runtime.db.write() as session:
        team = access_team(session, client.workspace_id, team_id)
        update_team(
            session,
            team,
            name=body.name if body.name is not MISSING else None,
            description=body.description if body.description is not MISSING else None,
            assignment=body.assignment if body.assignment is not MISSING else None,
        )
        return _public(session, [team])[0]


@router.delete(
    "/{team_id}",
    status_code=204,
    summary="Delete a team",
    description="Its conversations leave the team (each change recorded as an event); their "
    "assignees stay.",
    responses=error_responses(401, 404, 422),
)
def delete(team_id: TeamId, client: ApiClientDep, runtime: RuntimeDep) -> Response:
    actor = Actor("api", client.token.id)
    with runtime.db.write() as session:
        team = access_team(session, client.workspace_id, team_id)
        conversations = session.scalars(
            select(Conversation).where(Conversation.team_id == team.id).order_by(Conversation.id)
        ).all()
        for conversation in conversations:
            assignee = (
                session.get(Agent, conversation.assignee_id) if conversation.assignee_id else None
            )
            do_assign(
                session,
                conversation,
                team_id=None,
                assignee_id=assignee.id if assignee is not None and assignee.is_active else None,
                actor=actor,
                reason="team_deleted",
            )
        delete_team(session, team)
    return Response(status_code=204)


@router.put(
    "/{team_id}/members",
    summary="Set a team's members",
    description="Replaces the members with agent_ids (agents of this workspace).",
    responses=error_responses(400, 401, 404, 413, 422),
)
def set_members(
    team_id: TeamId, body: TeamMembers, client: ApiClientDep, runtime: RuntimeDep
) -> TeamPublic:
    with runtime.db.write() as session:
        team = access_team(session, client.workspace_id, team_id)
        set_team_members(session, team, body.agent_ids)
        return _public(session, [team])[0]

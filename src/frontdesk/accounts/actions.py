"""Changes to workspaces, agents, teams, sessions and tokens. Callers own the transaction."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from frontdesk.accounts.passwords import hash_password, verify_password
from frontdesk.accounts.tokens import digest, new_secret
from frontdesk.conversations.events import Actor, append_event
from frontdesk.errors import Conflict, InvalidInput, NotFound, Unauthorized
from frontdesk.language.detect import SUPPORTED
from frontdesk.store.models import (
    MAX_QUIET_MINUTES,
    Agent,
    AgentSession,
    AgentToken,
    ApiToken,
    Team,
    TeamMember,
    Workspace,
    utcnow,
)

ROLES = ("admin", "agent")
AVAILABILITY = ("online", "away")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
    return slug or "workspace"


def _clean_email(email: str) -> str:
    clean = email.strip().lower()
    if not EMAIL.match(clean) or len(clean) > 320:
        raise InvalidInput(f"{email!r} is not an email address.")
    return clean


def _clean_name(name: str, what: str = "Name") -> str:
    clean = name.strip()
    if not clean:
        raise InvalidInput(f"{what} is empty.")
    if len(clean) > 200:
        raise InvalidInput(f"{what} is longer than 200 characters.")
    return clean


def normalise_origin(origin: str) -> str:
    """``https://shop.example.com`` from what an admin typed; rejects anything that is not one."""
    raw = origin.strip().rstrip("/")
    if raw == "*":
        return raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{origin!r} is not an origin: write scheme and host, like https://www.example.com."
        )
    if parts.path or parts.query or parts.fragment or parts.username:
        raise InvalidInput(
            f"{origin!r}: an origin has no path, query or user, only scheme://host[:port]."
        )
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


# Workspaces ---------------------------------------------------------------------------------


def create_workspace(session: Session, name: str, *, slug: str | None = None) -> Workspace:
    name = _clean_name(name, "Workspace name")
    slug = slug or f"{_slugify(name)}-{secrets.token_hex(3)}"
    if not SLUG.match(slug):
        raise InvalidInput("Workspace slug: 2 to 63 lowercase letters, digits and dashes.")
    if session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        raise Conflict(f"A workspace with slug {slug!r} exists already.")
    workspace = Workspace(
        slug=slug, name=name, identity_secret=secrets.token_hex(32), allowed_origins=[]
    )
    session.add(workspace)
    session.flush()
    return workspace


def access_workspace(session: Session, slug: str) -> Workspace:
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        raise NotFound(f"Workspace {slug!r} was not found.")
    return workspace


def update_workspace(
    session: Session,
    workspace: Workspace,
    *,
    name: str | None = None,
    allowed_origins: list[str] | None = None,
    require_identity: bool | None = None,
    default_language: str | None = None,
    bot_enabled: bool | None = None,
    keyword_suggestions_quiet_minutes: int | None = None,
) -> Workspace:
    if name is not None:
        workspace.name = _clean_name(name, "Workspace name")
    if allowed_origins is not None:
        origins = [normalise_origin(o) for o in allowed_origins if o.strip()]
        workspace.allowed_origins = sorted(set(origins))
    if require_identity is not None:
        workspace.require_identity = require_identity
    if default_language is not None:
        if default_language not in SUPPORTED:
            raise InvalidInput(
                f"Language {default_language!r} is not one of {', '.join(SUPPORTED)}."
            )
        workspace.default_language = default_language
    settings = dict(workspace.settings or {})
    if bot_enabled is not None:
        settings["bot_enabled"] = bool(bot_enabled)
    if keyword_suggestions_quiet_minutes is not None:
        minutes = keyword_suggestions_quiet_minutes
        if isinstance(minutes, bool) or not 0 <= minutes <= MAX_QUIET_MINUTES:
            raise InvalidInput(
                f"The quiet time after a help-center visit is a number of minutes from 0 to "
                f"{MAX_QUIET_MINUTES}, not {minutes!r}."
            )
        settings["keyword_suggestions_quiet_minutes"] = int(minutes)
    if settings != (workspace.settings or {}):
        workspace.settings = settings  # a new dict: the JSON column sees the change
    session.flush()
    return workspace


def rotate_identity_secret(session: Session, workspace: Workspace) -> str:
    workspace.identity_secret = secrets.token_hex(32)
    session.flush()
    return workspace.identity_secret


# Agents --------------------------------------------------------------------------------------


def access_agent(session: Session, workspace_id: int, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or agent.workspace_id != workspace_id:
        raise NotFound(f"Agent {agent_id} was not found.")
    return agent


def create_agent(
    session: Session,
    workspace: Workspace,
    *,
    email: str,
    name: str,
    role: str = "agent",
    password: str | None = None,
) -> Agent:
    email = _clean_email(email)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
    exists = session.scalar(
        select(Agent.id).where(Agent.workspace_id == workspace.id, Agent.email == email)
    )
    if exists is not None:
        raise Conflict(f"An agent with email {email} exists already in this workspace.")
    agent = Agent(
        workspace_id=workspace.id,
        email=email,
        name=_clean_name(name),
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    session.add(agent)
    session.flush()
    return agent


def _active_admins(session: Session, workspace_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Agent.id)).where(
                Agent.workspace_id == workspace_id, Agent.role == "admin", Agent.is_active
            )
        )
        or 0
    )


def update_agent(
    session: Session,
    agent: Agent,
    *,
    name: str | None = None,
    role: str | None = None,
    availability: str | None = None,
    capacity: int | None = None,
    is_active: bool | None = None,
) -> Agent:
    if name is not None:
        agent.name = _clean_name(name)
    losing_admin = (role is not None and role != "admin") or is_active is False
    if (
        losing_admin
        and agent.role == "admin"
        and agent.is_active
        and _active_admins(session, agent.workspace_id) <= 1
    ):
        raise Conflict("This is the workspace's last admin: make another agent admin first.")
    if role is not None:
        if role not in ROLES:
            raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
        agent.role = role
    if capacity is not None:
        if not 0 <= capacity <= 1000:
            raise InvalidInput("Capacity is a number of conversations from 0 to 1000.")
        agent.capacity = capacity
    if is_active is not None:
        agent.is_active = is_active
        if not is_active:
            revoke_sessions(session, agent)
            availability = "away"
    if availability is not None:
        if availability not in AVAILABILITY:
            raise InvalidInput(f"Availability must be one of {', '.join(AVAILABILITY)}.")
        if availability != agent.availability:
            agent.availability = availability
            append_event(
                session,
                workspace_id=agent.workspace_id,
                conversation_id=None,
                type="agent_availability_changed",
                actor=Actor("agent", agent.id),
                data={"agent_id": agent.id, "availability": availability},
            )
    session.flush()
    return agent


def set_password(
    session: Session, agent: Agent, new_password: str, *, keep_session: str | None = None
) -> None:
    """Change the password and log out every other browser of this agent (row 12)."""
    agent.password_hash = hash_password(new_password)
    revoke_sessions(session, agent, except_id=keep_session)
    session.flush()


def change_password(
    session: Session, agent: Agent, current: str, new_password: str, *, keep_session: str | None
) -> None:
    """The agent's own change: the current password is required (row 13)."""
    if not verify_password(agent.password_hash, current):
        raise InvalidInput("The current password is wrong.")
    set_password(session, agent, new_password, keep_session=keep_session)


def change_email(session: Session, agent: Agent, current_password: str, new_email: str) -> None:
    if not verify_password(agent.password_hash, current_password):
        raise InvalidInput("The current password is wrong.")
    email = _clean_email(new_email)
    taken = session.scalar(
        select(Agent.id).where(
            Agent.workspace_id == agent.workspace_id, Agent.email == email, Agent.id != agent.id
        )
    )
    if taken is not None:
        raise Conflict(f"Another agent uses {email} already.")
    agent.email = email
    session.flush()


# Sessions ------------------------------------------------------------------------------------


def authenticate(session: Session, email: str, password: str) -> Agent:
    """The active agent with this email and password, or Unauthorized (same message either way)."""
    candidates = session.scalars(
        select(Agent)
        .where(Agent.email == email.strip().lower(), Agent.is_active)
        .order_by(Agent.id)
    ).all()
    for agent in candidates:
        if verify_password(agent.password_hash, password):
            return agent
    if not candidates:
        verify_password(None, password)  # same time as a wrong password
    raise Unauthorized("Wrong email or password.")


def create_session(
    session: Session, agent: Agent, *, days: int, user_agent: str = ""
) -> tuple[str, AgentSession]:
    token = new_secret()
    row = AgentSession(
        id=digest(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(days=days),
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return token, row


def session_agent(session: Session, token: str | None) -> tuple[AgentSession, Agent] | None:
    if not token:
        return None
    row = session.get(AgentSession, digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or not agent.is_active:
        return None
    return row, agent


def revoke_session(session: Session, token: str) -> None:
    row = session.get(AgentSession, digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def revoke_sessions(session: Session, agent: Agent, *, except_id: str | None = None) -> None:
    rows = session.scalars(
        select(AgentSession).where(
            AgentSession.agent_id == agent.id, AgentSession.revoked_at.is_(None)
        )
    )
    now = utcnow()
    for row in rows:
        if row.id != except_id:
            row.revoked_at = now
    session.flush()


# Invitations and password resets -------------------------------------------------------------


def create_agent_token(session: Session, agent: Agent, purpose: str, *, hours: int) -> str:
    token = new_secret()
    session.add(
        AgentToken(
            id=digest(token),
            agent_id=agent.id,
            purpose=purpose,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def consume_agent_token(session: Session, token: str, purpose: str) -> Agent:
    """The agent the token was made for; the token is used up. Expired, used, empty or unknown
    tokens are all refused with the same message."""
    refused = InvalidInput("This link is invalid or has expired. Ask for a new one.")
    if not token or len(token) > 200:
        raise refused
    row = session.get(AgentToken, digest(token))
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at <= utcnow()
    ):
        raise refused
    # Conditional update: of two simultaneous uses, only one wins.
    won = session.execute(
        update(AgentToken)
        .where(AgentToken.id == row.id, AgentToken.used_at.is_(None))
        .values(used_at=utcnow())
        .returning(AgentToken.id)
    ).first()
    agent = session.get(Agent, row.agent_id)
    if not won or agent is None or not agent.is_active:
        raise refused
    return agent


# API tokens ----------------------------------------------------------------------------------


def create_api_token(
    session: Session, workspace: Workspace, name: str, *, created_by: int | None
) -> tuple[str, ApiToken]:
    token = new_secret("fd_")
    row = ApiToken(
        workspace_id=workspace.id,
        name=_clean_name(name, "Token name"),
        token_hash=digest(token),
        prefix=token[:10],
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return token, row


def api_token_workspace(session: Session, token: str) -> tuple[ApiToken, Workspace] | None:
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    workspace = session.get(Workspace, row.workspace_id)
    if workspace is None:
        return None
    return row, workspace


def revoke_api_token(session: Session, workspace: Workspace, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.workspace_id != workspace.id:
        raise NotFound(f"API token {token_id} was not found.")
    row.revoked_at = utcnow()
    session.flush()


# Teams ---------------------------------------------------------------------------------------


def access_team(session: Session, workspace_id: int, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.workspace_id != workspace_id:
        raise NotFound(f"Team {team_id} was not found.")
    return team


def create_team(
    session: Session,
    workspace: Workspace,
    name: str,
    *,
    slug: str | None = None,
    description: str = "",
) -> Team:
    name = _clean_name(name, "Team name")
    slug = slug or _slugify(name)
    if not re.match(r"^[a-z0-9][a-z0-9_-]{0,62}$", slug):
        raise InvalidInput("Team slug: lowercase letters, digits, - and _ (at most 63).")
    taken = session.scalar(
        select(Team.id).where(Team.workspace_id == workspace.id, Team.slug == slug)
    )
    if taken is not None:
        raise Conflict(f"A team with slug {slug!r} exists already.")
    team = Team(workspace_id=workspace.id, name=name, slug=slug, description=description[:2000])
    session.add(team)
    session.flush()
    return team


def update_team(
    session: Session,
    team: Team,
    *,
    name: str | None = None,
    description: str | None = None,
    assignment: str | None = None,
) -> Team:
    if name is not None:
        team.name = _clean_name(name, "Team name")
    if description is not None:
        team.description = description[:2000]
    if assignment is not None:
        if assignment not in ("round_robin", "least_loaded", "manual"):
            raise InvalidInput("Assignment must be round_robin, least_loaded or manual.")
        team.assignment = assignment
    session.flush()
    return team


def delete_team(session: Session, team: Team) -> None:
    session.delete(team)
    session.flush()


def set_team_members(session: Session, team: Team, agent_ids: list[int]) -> list[int]:
    ids = sorted(set(agent_ids))
    if ids:
        found = set(
            session.scalars(
                select(Agent.id).where(Agent.workspace_id == team.workspace_id, Agent.id.in_(ids))
            )
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"Agent {missing[0]} was not found.")
    session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    for agent_id in ids:
        session.add(TeamMember(team_id=team.id, agent_id=agent_id))
    session.flush()
    return ids


def team_member_ids(session: Session, team_id: int) -> list[int]:
    return list(session.scalars(select(TeamMember.agent_id).where(TeamMember.team_id == team_id)))


def agent_team_ids(session: Session, agent_id: int) -> list[int]:
    return list(session.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == agent_id)))

"""Admin pages: agents and invitations, teams and members, workspace settings, API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from frontdesk.accounts.actions import (
    access_agent,
    access_team,
    create_agent,
    create_agent_token,
    create_api_token,
    create_team,
    delete_team,
    revoke_api_token,
    rotate_identity_secret,
    set_team_members,
    update_agent,
    update_team,
    update_workspace,
)
from frontdesk.errors import Forbidden, FrontdeskError, InvalidInput, NotFound
from frontdesk.language.detect import SUPPORTED
from frontdesk.mail import send_mail
from frontdesk.store.models import Agent, ApiToken, Team, TeamMember, Workspace
from frontdesk.web.agent.common import (
    HTMLRoute,
    PageId,
    PageLogin,
    SessionForm,
    optional_int,
    redirect,
    render,
    text_field,
)
from frontdesk.web.deps import AgentLogin, RuntimeDep, base_url

INVITE_HOURS = 72


def require_admin_page(login: PageLogin) -> AgentLogin:
    if not login.is_admin:
        raise Forbidden("Only admins can open this page.")
    return login


router = APIRouter(
    route_class=HTMLRoute, include_in_schema=False, dependencies=[Depends(require_admin_page)]
)


def _workspace(session: Session, login: AgentLogin) -> Workspace:
    workspace = session.get(Workspace, login.workspace_id)
    if workspace is None:
        raise NotFound("Workspace not found.")
    return workspace


# Agents --------------------------------------------------------------------------------------


def _agents_context(session: Session, login: AgentLogin) -> dict[str, Any]:
    agents = session.scalars(
        select(Agent).where(Agent.workspace_id == login.workspace_id).order_by(Agent.name)
    ).all()
    return {"agents": agents, "section": "agents"}


@router.get("/admin/agents")
def agents_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        context = _agents_context(session, login)
    return render(request, "agent/admin/agents.html", context, login=login)


@router.post("/admin/agents/invite")
def invite_agent(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    email = text_field(form, "email", max_len=320)
    typed_name = text_field(form, "name", max_len=200)
    name = typed_name.strip() or email.split("@")[0]
    role = text_field(form, "role", max_len=16) or "agent"
    try:
        with runtime.db.write() as session:
            workspace = _workspace(session, login)
            agent = create_agent(session, workspace, email=email, name=name, role=role)
            token = create_agent_token(session, agent, "invite", hours=INVITE_HOURS)
            invited_email, workspace_name = agent.email, workspace.name
    except FrontdeskError as exc:  # the form again with what the admin typed, and the problem
        with runtime.db.read() as session:
            context = _agents_context(session, login)
        context.update(
            {"error": exc.message, "form": {"email": email, "name": typed_name, "role": role}}
        )
        return render(
            request, "agent/admin/agents.html", context, login=login, status_code=exc.status
        )
    link = f"{base_url(request)}/invite/{token}"
    sent = send_mail(
        runtime.settings,
        invited_email,
        f"You are invited to {workspace_name} on Frontdesk",
        f"{login.agent.name} invites you to answer customers of {workspace_name}.\n\n"
        f"Open this link within {INVITE_HOURS} hours to choose your password:\n{link}\n",
    )
    with runtime.db.read() as session:
        context = _agents_context(session, login)
    context.update({"invite_link": link, "invited": invited_email, "mail_sent": sent})
    return render(request, "agent/admin/agents.html", context, login=login)


@router.post("/admin/agents/{agent_id}")
def update_agent_form(
    agent_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    action = text_field(form, "action", max_len=20)
    with runtime.db.write() as session:
        agent = access_agent(session, login.workspace_id, agent_id)
        if action == "deactivate":
            update_agent(session, agent, is_active=False)
        elif action == "activate":
            update_agent(session, agent, is_active=True)
        elif action == "save":
            capacity = optional_int(form, "capacity")
            update_agent(
                session,
                agent,
                role=text_field(form, "role", max_len=16) or None,
                availability=text_field(form, "availability", max_len=16) or None,
                capacity=capacity,
            )
        else:
            raise InvalidInput("Unknown action.")
    return redirect("/admin/agents")


# Teams ---------------------------------------------------------------------------------------


@router.get("/admin/teams")
def teams_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    return _teams_page(request, login, runtime)


def _teams_page(
    request: Request,
    login: AgentLogin,
    runtime: RuntimeDep,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The teams page; ``form`` is what the admin typed into the new-team form, when refused."""
    with runtime.db.read() as session:
        teams = session.scalars(
            select(Team).where(Team.workspace_id == login.workspace_id).order_by(Team.name)
        ).all()
        agents = session.scalars(
            select(Agent)
            .where(Agent.workspace_id == login.workspace_id, Agent.is_active)
            .order_by(Agent.name)
        ).all()
        members: dict[int, set[int]] = {}
        for team_id, agent_id in session.execute(
            select(TeamMember.team_id, TeamMember.agent_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.workspace_id == login.workspace_id)
        ):
            members.setdefault(team_id, set()).add(agent_id)
    context = {
        "teams": teams,
        "agents": agents,
        "members": members,
        "section": "teams",
        "error": error,
        "form": form or {},
    }
    return render(request, "agent/admin/teams.html", context, login=login, status_code=status_code)


@router.post("/admin/teams")
def create_team_form(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    name = text_field(form, "name", max_len=200)
    description = text_field(form, "description", max_len=2000)
    try:
        with runtime.db.write() as session:
            create_team(session, _workspace(session, login), name, description=description)
    except FrontdeskError as exc:
        return _teams_page(
            request,
            login,
            runtime,
            error=exc.message,
            form={"name": name, "description": description},
            status_code=exc.status,
        )
    return redirect("/admin/teams")


@router.post("/admin/teams/{team_id}")
def update_team_form(
    team_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    member_ids: list[int] = []
    for raw in form.getlist("member_ids"):
        if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
            raise InvalidInput("member_ids must be agent numbers.")
        member_ids.append(int(raw))
    with runtime.db.write() as session:
        team = access_team(session, login.workspace_id, team_id)
        update_team(
            session,
            team,
            name=text_field(form, "name", max_len=200),
            description=text_field(form, "description", max_len=2000),
        )
        set_team_members(session, team, member_ids)
    return redirect("/admin/teams")


@router.post("/admin/teams/{team_id}/delete")
def delete_team_form(
    team_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        delete_team(session, access_team(session, login.workspace_id, team_id))
    return redirect("/admin/teams")


# Workspace settings --------------------------------------------------------------------------


def _settings_context(
    request: Request, workspace: Workspace, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The settings page; ``values`` are what the admin submitted (kept when refused)."""
    base = base_url(request)
    snippet = f'<script src="{base}/widget.js" data-workspace="{workspace.slug}" async></script>'
    saved = {
        "name": workspace.name,
        "allowed_origins": "\n".join(workspace.allowed_origins or []),
        "require_identity": workspace.require_identity,
        "default_language": workspace.default_language,
        "bot_enabled": workspace.bot_enabled,
        "keyword_suggestions_quiet_minutes": str(workspace.keyword_suggestions_quiet_minutes),
    }
    return {
        "workspace": workspace,
        "v": values if values is not None else saved,
        "languages": SUPPORTED,
        "snippet": snippet,
        "section": "settings",
    }


@router.get("/admin/settings")
def settings_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        context = _settings_context(request, _workspace(session, login))
    saved = request.query_params.get("saved")
    context["notice"] = "Settings saved." if saved else None
    return render(request, "agent/admin/settings.html", context, login=login)


@router.post("/admin/settings")
def save_settings(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    values: dict[str, Any] | None = None  # what the admin typed, once it could be read
    try:
        values = {
            "name": text_field(form, "name", max_len=200),
            "allowed_origins": text_field(form, "allowed_origins", max_len=20_000),
            "require_identity": form.get("require_identity") == "on",
            "default_language": text_field(form, "default_language", max_len=8),
            "bot_enabled": form.get("bot_enabled") == "on",
            "keyword_suggestions_quiet_minutes": text_field(
                form, "keyword_suggestions_quiet_minutes", max_len=10
            ).strip(),
        }
        quiet = values["keyword_suggestions_quiet_minutes"]
        if quiet and not quiet.lstrip("-").isdigit():
            raise InvalidInput(f"The quiet time must be a whole number of minutes, not {quiet!r}.")
        with runtime.db.write() as session:
            update_workspace(
                session,
                _workspace(session, login),
                name=values["name"],
                allowed_origins=values["allowed_origins"].splitlines(),
                require_identity=values["require_identity"],
                default_language=values["default_language"] or None,
                bot_enabled=values["bot_enabled"],
                keyword_suggestions_quiet_minutes=int(quiet) if quiet else None,
            )
    except FrontdeskError as exc:
        # the form again with what the admin typed (nothing was saved) and the problem
        with runtime.db.read() as session:
            context = _settings_context(request, _workspace(session, login), values)
        context["error"] = exc.message
        return render(request, "agent/admin/settings.html", context, login=login, status_code=422)
    return redirect("/admin/settings?saved=1")


@router.post("/admin/settings/rotate-secret")
def rotate_secret(login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        rotate_identity_secret(session, _workspace(session, login))
    return redirect("/admin/settings?saved=1")


# API tokens ----------------------------------------------------------------------------------


def _tokens_context(session: Session, login: AgentLogin) -> dict[str, Any]:
    tokens = session.scalars(
        select(ApiToken)
        .where(ApiToken.workspace_id == login.workspace_id)
        .order_by(ApiToken.id.desc())
    ).all()
    return {"tokens": tokens, "section": "tokens"}


@router.get("/admin/tokens")
def tokens_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        context = _tokens_context(session, login)
    return render(request, "agent/admin/tokens.html", context, login=login)


@router.post("/admin/tokens")
def create_token(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    name = text_field(form, "name", max_len=200)
    with runtime.db.write() as session:
        token, _ = create_api_token(
            session, _workspace(session, login), name, created_by=login.agent.id
        )
    with runtime.db.read() as session:
        context = _tokens_context(session, login)
    context["new_token"] = token
    return render(request, "agent/admin/tokens.html", context, login=login)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        revoke_api_token(session, _workspace(session, login), token_id)
    return redirect("/admin/tokens")

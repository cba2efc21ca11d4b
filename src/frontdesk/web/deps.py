"""Dependencies shared by the routers: the runtime, database sessions, client IP, logged-in agent,
API token. Routers declare what they need with these aliases."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from frontdesk.accounts.actions import api_token_workspace, session_agent
from frontdesk.errors import Forbidden, Unauthorized
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, AgentSession, ApiToken, Workspace, utcnow

SESSION_COOKIE = "frontdesk_session"


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def read_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.db.read() as session:
        yield session


def write_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.db.write() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def client_ip(conn: HTTPConnection) -> str:
    """The client's address; X-Forwarded-For only counts when the peer is a trusted proxy."""
    runtime = get_runtime(conn)
    peer = conn.client.host if conn.client else "0.0.0.0"  # noqa: S104 - a label, not a bind
    trusted = runtime.settings.trusted_proxies
    if trusted and peer in trusted:
        forwarded = conn.headers.get("x-forwarded-for", "")
        # The right-most address not belonging to a trusted proxy is the client.
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break
            if hop not in trusted:
                return hop
    return peer


ClientIP = Annotated[str, Depends(client_ip)]


@dataclass
class AgentLogin:
    agent: Agent
    session_row: AgentSession

    @property
    def workspace_id(self) -> int:
        return self.agent.workspace_id

    @property
    def is_admin(self) -> bool:
        return self.agent.role == "admin"


def optional_login(conn: HTTPConnection, runtime: RuntimeDep) -> AgentLogin | None:
    token = conn.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with runtime.db.read() as session:
        found = session_agent(session, token)
        if found is None:
            return None
        row, agent = found
        session.expunge_all()
    return AgentLogin(agent=agent, session_row=row)


def require_login(login: Annotated[AgentLogin | None, Depends(optional_login)]) -> AgentLogin:
    if login is None:
        raise Unauthorized("Log in first.")
    return login


def require_admin(login: Annotated[AgentLogin, Depends(require_login)]) -> AgentLogin:
    if not login.is_admin:
        raise Forbidden("Only admins can do this.")
    return login


OptionalLogin = Annotated[AgentLogin | None, Depends(optional_login)]
CurrentLogin = Annotated[AgentLogin, Depends(require_login)]
AdminLogin = Annotated[AgentLogin, Depends(require_admin)]

_bearer = HTTPBearer(auto_error=False, description="An API token of the workspace: fd_…")


@dataclass
class ApiClient:
    token: ApiToken
    workspace: Workspace

    @property
    def workspace_id(self) -> int:
        return self.workspace.id


def require_api_token(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiClient:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send an API token: Authorization: Bearer fd_…")
    with runtime.db.write() as session:
        found = api_token_workspace(session, credentials.credentials)
        if found is None:
            raise Unauthorized("This API token is unknown or revoked.")
        token, workspace = found
        if token.last_used_at is None or (utcnow() - token.last_used_at).total_seconds() > 60:
            token.last_used_at = utcnow()
        session.flush()
        session.expunge_all()
    return ApiClient(token=token, workspace=workspace)


ApiClientDep = Annotated[ApiClient, Depends(require_api_token)]


def base_url(request: Request) -> str:
    configured = get_runtime(request).settings.base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")

"""Helpers for the agent web tests: a logged-in client and CSRF tokens of public forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, Workspace
from frontdesk.web.deps import SESSION_COOKIE
from tests.factories import make_agent, make_login, make_workspace

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Setup:
    workspace: Workspace
    admin: Agent
    agent: Agent


def setup_workspace(runtime: Runtime, name: str = "Acme") -> Setup:
    with runtime.db.write() as session:
        workspace = make_workspace(session, name)
        admin = make_agent(session, workspace, role="admin", name=f"{name} Admin")
        agent = make_agent(session, workspace, name=f"{name} Agent")
    return Setup(workspace, admin, agent)


def login_as(client: TestClient, runtime: Runtime, agent: Agent) -> str:
    """Log ``agent`` in on ``client``; return the session's CSRF token."""
    with runtime.db.write() as session:
        logged = make_login(session, session.get(Agent, agent.id))  # type: ignore[arg-type]
    client.cookies.set(SESSION_COOKIE, logged.cookie)
    return logged.csrf


def form_csrf(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)

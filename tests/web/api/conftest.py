"""Two workspaces, A (the token's) and B (another tenant), each with an admin, an agent, a team,
a customer and a conversation, made through the product's own actions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from frontdesk.accounts.actions import create_agent, update_agent
from frontdesk.runtime import Runtime
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Customer,
    Message,
    Team,
    TeamMember,
)
from tests.factories import (
    make_api_token,
    make_customer,
    make_message,
    make_team,
    make_workspace,
)


@dataclass
class Tenant:
    workspace_id: int
    token: str
    admin_id: int
    agent_id: int
    team_id: int
    customer_id: int
    conversation_id: int


def make_tenant(runtime: Runtime, name: str) -> Tenant:
    with runtime.db.write() as s:
        ws = make_workspace(s, name)
        # No passwords: the API never logs agents in, and argon2 would make every test slow.
        admin = create_agent(
            s, ws, email=f"admin@{name.lower()}.test", name=f"{name} Admin", role="admin"
        )
        agent = create_agent(s, ws, email=f"agent@{name.lower()}.test", name=f"{name} Agent")
        update_agent(s, admin, availability="online")
        update_agent(s, agent, availability="online")
        team = make_team(s, ws, "Billing", members=[agent])
        customer = make_customer(s, ws, name=f"{name} Customer", email=f"c@{name.lower()}.test")
        first = make_message(s, ws, customer, "Where is my invoice?")
        token = make_api_token(s, ws)
        return Tenant(ws.id, token, admin.id, agent.id, team.id, customer.id, first.conversation_id)


class Api:
    """The test client with the tenant's bearer token on every request."""

    def __init__(self, client: TestClient, tenant: Tenant) -> None:
        self.client = client
        self.tenant = tenant
        self.headers = {"Authorization": f"Bearer {tenant.token}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.client.patch(f"/api/v1{path}", json=json, headers=self.headers, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.client.put(f"/api/v1{path}", json=json, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.delete(f"/api/v1{path}", headers=self.headers, **kwargs)


@pytest.fixture
def tenant_a(runtime: Runtime) -> Tenant:
    return make_tenant(runtime, "Acme")


@pytest.fixture
def tenant_b(runtime: Runtime) -> Tenant:
    return make_tenant(runtime, "Globex")


@pytest.fixture
def api(client: TestClient, tenant_a: Tenant) -> Iterator[Api]:
    yield Api(client, tenant_a)


def snapshot(runtime: Runtime) -> dict[str, Any]:
    """Everything a request could change: row counts and the state of every conversation,
    customer, agent and team, to prove that a refused request changed nothing."""
    with runtime.db.read() as s:
        counts = {
            model.__name__: s.scalar(select(func.count()).select_from(model))
            for model in (
                Conversation,
                Message,
                ConversationEvent,
                Customer,
                Agent,
                Team,
                TeamMember,
            )
        }
        conversations = [
            (c.id, c.status, c.priority, c.team_id, c.assignee_id, tuple(c.tags), c.last_seq)
            for c in s.scalars(select(Conversation).order_by(Conversation.id))
        ]
        customers = [
            (c.id, c.name, c.email, c.language, sorted(c.attributes.items()), c.verified)
            for c in s.scalars(select(Customer).order_by(Customer.id))
        ]
        agents = [
            (a.id, a.name, a.role, a.availability, a.capacity, a.is_active, a.workspace_id)
            for a in s.scalars(select(Agent).order_by(Agent.id))
        ]
        teams = [
            (t.id, t.name, t.description, t.assignment, t.workspace_id)
            for t in s.scalars(select(Team).order_by(Team.id))
        ]
    return {
        "counts": counts,
        "conversations": conversations,
        "customers": customers,
        "agents": agents,
        "teams": teams,
    }


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the one error shape with this status; returns its error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error

"""Factories for test data, all going through the same actions the product uses."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from frontdesk.accounts.actions import (
    create_agent,
    create_api_token,
    create_session,
    create_team,
    create_workspace,
    set_team_members,
    update_agent,
)
from frontdesk.customers.actions import create_visitor
from frontdesk.customers.identity import new_visitor_token
from frontdesk.inbound import InboundMessage, InboundResult, receive, record
from frontdesk.store.models import Agent, Customer, Team, Workspace

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

PASSWORD = "correct horse battery"


def make_workspace(session: Session, name: str = "Acme", **kwargs: object) -> Workspace:
    return create_workspace(session, name, **kwargs)  # type: ignore[arg-type]


def make_agent(
    session: Session,
    workspace: Workspace,
    *,
    role: str = "agent",
    name: str | None = None,
    email: str | None = None,
    online: bool = True,
) -> Agent:
    suffix = secrets.token_hex(3)
    agent = create_agent(
        session,
        workspace,
        email=email or f"agent-{suffix}@example.com",
        name=name or f"Agent {suffix}",
        role=role,
        password=PASSWORD,
    )
    if online:
        update_agent(session, agent, availability="online")
    return agent


def make_team(
    session: Session,
    workspace: Workspace,
    name: str = "Support",
    members: list[Agent] | None = None,
) -> Team:
    team = create_team(
        session, workspace, name, slug=f"{name.lower().replace(' ', '-')}-{secrets.token_hex(2)}"
    )
    if members:
        set_team_members(session, team, [a.id for a in members])
    return team


def make_customer(session: Session, workspace: Workspace, **fields: object) -> Customer:
    customer = create_visitor(session, workspace, new_visitor_token(), language=None)
    for key, value in fields.items():
        setattr(customer, key, value)
    session.flush()
    return customer


def make_message(
    session: Session,
    workspace: Workspace,
    customer: Customer,
    text: str = "Hello, I need help",
    *,
    conversation_id: int | None = None,
    channel: str = "chat",
    client_id: str | None = None,
) -> InboundResult:
    return record(
        session,
        InboundMessage(
            workspace_id=workspace.id,
            channel=channel,
            customer_id=customer.id,
            text=text,
            conversation_id=conversation_id,
            client_id=client_id,
        ),
        max_chars=10_000,
    )


def make_api_token(session: Session, workspace: Workspace) -> str:
    token, _ = create_api_token(session, workspace, "tests", created_by=None)
    return token


@dataclass
class LoggedIn:
    agent: Agent
    cookie: str
    csrf: str


def make_login(session: Session, agent: Agent) -> LoggedIn:
    token, row = create_session(session, agent, days=1)
    return LoggedIn(agent, token, row.csrf_token)


def send_chat(
    runtime: Runtime,
    ids: dict[str, Any],
    text: str,
    conversation_id: int | None = None,
    **meta: Any,
) -> int:
    """A chat message from ``ids["customer"]`` of ``ids["workspace"]`` through the whole
    ingest path; returns the conversation id."""
    result = receive(
        runtime.db,
        InboundMessage(
            workspace_id=ids["workspace"],
            channel="chat",
            customer_id=ids["customer"],
            text=text,
            conversation_id=conversation_id,
            meta=meta,
        ),
    )
    return result.conversation_id

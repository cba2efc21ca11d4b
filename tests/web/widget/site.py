"""A workspace with its widget, and the calls a widget makes, for the widget tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from frontdesk.accounts.actions import update_workspace
from frontdesk.conversations.actions import do_add_note, do_send_agent_reply
from frontdesk.customers.identity import user_hash
from frontdesk.runtime import Runtime
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Customer,
    Message,
)
from tests.factories import make_agent, make_workspace

SHOP = "https://shop.example.com"


@dataclass
class Site:
    slug: str
    workspace_id: int
    secret: str
    agent_id: int

    @property
    def api(self) -> str:
        return f"/widget/v1/{self.slug}"

    def sign(self, user_id: str) -> str:
        return user_hash(self.secret, user_id)


def make_site(
    runtime: Runtime,
    *,
    name: str = "Acme",
    origins: tuple[str, ...] = (SHOP,),
    require_identity: bool = False,
    default_language: str = "en",
) -> Site:
    with runtime.db.write() as s:
        ws = make_workspace(s, name)
        update_workspace(
            s,
            ws,
            allowed_origins=list(origins),
            require_identity=require_identity,
            default_language=default_language,
        )
        agent = make_agent(s, ws, name="Ana")
        return Site(ws.slug, ws.id, ws.identity_secret, agent.id)


def start(client: TestClient, site: Site, **body: Any) -> dict[str, Any]:
    response = client.post(f"{site.api}/session", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def new_client_id() -> str:
    return str(uuid.uuid4())


def post(client: TestClient, site: Site, session: dict[str, Any], text: str, **extra: Any) -> Any:
    body = {"client_id": new_client_id(), "text": text, "conversation_id": None, **extra}
    return client.post(f"{site.api}/messages", json=body, headers=bearer(session))


def agent_reply(runtime: Runtime, site: Site, conversation_id: int, body: str) -> None:
    with runtime.db.write() as s:
        conversation = s.get(Conversation, conversation_id)
        agent = s.get(Agent, site.agent_id)
        assert conversation is not None and agent is not None
        do_send_agent_reply(s, conversation, agent, body=body)


def agent_note(runtime: Runtime, site: Site, conversation_id: int, body: str) -> None:
    with runtime.db.write() as s:
        conversation = s.get(Conversation, conversation_id)
        agent = s.get(Agent, site.agent_id)
        assert conversation is not None and agent is not None
        do_add_note(s, conversation, agent, body=body)


def counts(runtime: Runtime) -> dict[str, int]:
    """Rows that a refused request must not have added."""
    with runtime.db.read() as s:
        return {
            name: int(s.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("customers", Customer),
                ("conversations", Conversation),
                ("messages", Message),
                ("events", ConversationEvent),
            )
        }


def bodies(runtime: Runtime, conversation_id: int) -> list[str]:
    with runtime.db.read() as s:
        return list(
            s.scalars(
                select(Message.body)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)
            )
        )

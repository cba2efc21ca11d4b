"""Live updates across processes (issue 2, "Real parts"): a customer connected to API process A
gets the reply an agent sends through API process B, through Redis pub/sub."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from websockets.sync.client import ClientConnection, connect

from frontdesk.accounts.actions import create_session
from frontdesk.store.models import Agent
from tests.scale.conftest import ClusterEnv
from tests.scale.processes import Process, start_server

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def cli(cluster: ClusterEnv, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "frontdesk.cli", *args],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def next_frame(ws: ClientConnection, wanted: str, timeout: float = 10) -> dict[str, Any]:
    """The next frame of type ``wanted``, skipping others (presence, typing, …)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} frame within {timeout} s"
        frame: dict[str, Any] = json.loads(ws.recv(timeout=left))
        if frame.get("type") == wanted:
            return frame


@pytest.fixture
def servers(cluster_env: ClusterEnv) -> Iterator[tuple[Process, Process]]:
    a = start_server("server-a", cluster_env.env, cluster_env.dir)  # migrates the empty database
    try:
        b = start_server("server-b", cluster_env.env, cluster_env.dir)
    except BaseException:
        a.stop()
        raise
    yield a, b
    for proc in (a, b):
        proc.stop()


@dataclass
class Workspace:
    slug: str
    agent_id: int
    cookie: str
    token: str


@pytest.fixture
def workspace(cluster_env: ClusterEnv, servers: tuple[Process, Process]) -> Workspace:
    """Created with the CLI, as an operator would; the agent's login session straight in the
    database (the login form wants a browser and CSRF)."""
    slug = f"scale-{secrets.token_hex(3)}"
    cli(cluster_env, "workspace", "create", "Scale Co", "--slug", slug)
    email = f"agent-{slug}@example.com"
    cli(cluster_env, "agent", "create", "--workspace", slug, "--email", email, "--name", "Ann")
    token = cli(cluster_env, "token", "create", "--workspace", slug, "--name", "scale").strip()
    engine = create_engine(cluster_env.database_url)
    with Session(engine) as s, s.begin():
        agent = s.scalars(select(Agent).where(Agent.email == email)).one()
        cookie, _ = create_session(s, agent, days=1)
        agent_id = agent.id
    engine.dispose()
    return Workspace(slug, agent_id, cookie, token)


def open_widget(server: Process, slug: str) -> ClientConnection:
    opened = httpx.post(f"{server.url}/widget/v1/{slug}/session", json={}, timeout=10)
    assert opened.status_code == 200, opened.text
    token = opened.json()["session_token"]
    return connect(
        f"ws://127.0.0.1:{server.port}/widget/v1/{slug}/ws?token={token}", open_timeout=10
    )


def customer_sends(widget: ClientConnection, client_id: str, text: str) -> dict[str, Any]:
    widget.send(
        json.dumps({"type": "send", "client_id": client_id, "text": text, "conversation_id": None})
    )
    ack = next_frame(widget, "ack")
    assert ack["client_id"] == client_id
    message: dict[str, Any] = ack["message"]
    return message


def test_reply_through_process_b_reaches_the_widget_on_process_a(
    servers: tuple[Process, Process], workspace: Workspace
) -> None:
    a, b = servers
    with open_widget(a, workspace.slug) as widget:
        conversation_id = customer_sends(widget, "c-1", "Hello from A")["conversation_id"]

        reply = httpx.post(
            f"{b.url}/api/v1/conversations/{conversation_id}/messages",
            json={"body": "Reply from B", "kind": "reply", "agent_id": workspace.agent_id},
            headers={"Authorization": f"Bearer {workspace.token}"},
            timeout=10,
        )
        assert reply.status_code in (200, 201), reply.text

        pushed = next_frame(widget, "message")
        while pushed["message"]["author_type"] == "customer":  # the echo of the customer's own
            pushed = next_frame(widget, "message")
        assert pushed["message"]["body"] == "Reply from B"
        assert pushed["message"]["author_type"] == "agent"
        assert pushed["message"]["conversation_id"] == conversation_id


def test_customer_message_on_process_a_reaches_the_inbox_on_process_b(
    servers: tuple[Process, Process], workspace: Workspace
) -> None:
    a, b = servers
    headers = {"Cookie": f"frontdesk_session={workspace.cookie}", "Origin": b.url}
    with (
        connect(
            f"ws://127.0.0.1:{b.port}/inbox/ws", open_timeout=10, additional_headers=headers
        ) as inbox,
        open_widget(a, workspace.slug) as widget,
    ):
        next_frame(inbox, "hello")  # B is subscribed: what A publishes from now on reaches it
        sent = customer_sends(widget, "c-2", "Anyone there?")
        created = next_frame(inbox, "message.created")
        assert created["message"]["client_id"] == "c-2"
        assert created["message"]["body"] == "Anyone there?"
        assert created["conversation_id"] == sent["conversation_id"]

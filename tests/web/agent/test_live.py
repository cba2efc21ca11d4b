"""WS /inbox/ws: cookie login, own origin only, hello first, bus messages forwarded unchanged."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from frontdesk.inbound import InboundMessage, receive
from frontdesk.runtime import Runtime
from tests.factories import make_customer
from tests.web.agent.helpers import login_as, setup_workspace


def test_ws_receives_message_created(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    other = setup_workspace(runtime, "Other")
    with runtime.db.write() as session:
        customer = make_customer(session, s.workspace)
        stranger = make_customer(session, other.workspace)
    login_as(client, runtime, s.agent)
    with client.websocket_connect("/inbox/ws", headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json() == {"type": "hello"}

        def send() -> None:
            # Another workspace's message first: it must not reach this agent.
            receive(runtime.db, InboundMessage(other.workspace.id, "chat", stranger.id, "nope"))
            receive(runtime.db, InboundMessage(s.workspace.id, "chat", customer.id, "Hi <b>!"))

        thread = threading.Thread(target=send)
        thread.start()
        thread.join()
        frames = [ws.receive_json() for _ in range(2)]
    created = [f for f in frames if f["type"] == "message.created"]
    assert len(created) == 1
    assert created[0]["message"]["body"] == "Hi <b>!"
    assert created[0]["message"]["author_type"] == "customer"
    assert set(created[0]) == {"type", "conversation_id", "message"}
    updated = [f for f in frames if f["type"] == "conversation.updated"]
    assert updated and updated[0]["conversation"]["id"] == created[0]["conversation_id"]


def test_ws_refuses_other_origin_and_anonymous(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with client.websocket_connect("/inbox/ws") as ws, pytest.raises(WebSocketDisconnect) as anon:
        ws.receive_json()
    assert anon.value.code == 4401
    login_as(client, runtime, s.agent)
    with (
        client.websocket_connect("/inbox/ws", headers={"origin": "https://evil.example"}) as ws,
        pytest.raises(WebSocketDisconnect) as evil,
    ):
        ws.receive_json()
    assert evil.value.code == 4403

"""WS /widget/v1/{slug}/ws: sends and acks, live replies, resume, refusals, bad frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from frontdesk.conversations.actions import do_change_status
from frontdesk.conversations.events import Actor
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation
from tests.web.widget.site import (
    SHOP,
    Site,
    agent_note,
    agent_reply,
    bodies,
    counts,
    make_site,
    new_client_id,
    post,
    start,
)

Frame = dict[str, Any]


def ws_url(site: Site, session: dict[str, Any]) -> str:
    return f"{site.api}/ws?token={session['session_token']}"


def read_until(
    ws: WebSocketTestSession, wanted: Callable[[Frame], bool], limit: int = 20
) -> tuple[Frame, list[Frame]]:
    """Frames up to and including the first that ``wanted`` accepts."""
    seen: list[Frame] = []
    for _ in range(limit):
        frame: Frame = ws.receive_json()
        seen.append(frame)
        if wanted(frame):
            return frame, seen
    raise AssertionError(f"no wanted frame among {seen}")


def send(ws: WebSocketTestSession, text: str, **extra: Any) -> Frame:
    frame = {"type": "send", "client_id": new_client_id(), "text": text, "conversation_id": None}
    frame.update(extra)
    ws.send_json(frame)
    return frame


def acked(ws: WebSocketTestSession, client_id: str) -> Frame:
    frame, _ = read_until(ws, lambda f: f.get("client_id") == client_id)
    assert frame["type"] == "ack", frame
    return frame


def test_send_is_acknowledged_after_storing_and_a_resend_is_stored_once(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    with client.websocket_connect(ws_url(site, session), headers={"Origin": SHOP}) as ws:
        frame = send(ws, "Hello over the socket", page_url="https://shop.example.com/x")
        ack = acked(ws, frame["client_id"])
        message = ack["message"]
        assert message["body"] == "Hello over the socket" and message["seq"] == 1
        conversation, _ = read_until(ws, lambda f: f["type"] == "conversation")
        assert conversation["conversation"]["id"] == message["conversation_id"]
        # The connection dropped before the ack arrived: the widget sends it again.
        ws.send_json({**frame, "conversation_id": message["conversation_id"]})
        again = acked(ws, frame["client_id"])
        assert again["message"] == message
    assert bodies(runtime, message["conversation_id"]) == ["Hello over the socket"]


def test_agent_reply_arrives_live_and_notes_never_do(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    session = start(client, site)
    with client.websocket_connect(ws_url(site, session)) as ws:
        frame = send(ws, "Is anyone there?")
        cid = acked(ws, frame["client_id"])["message"]["conversation_id"]
        agent_note(runtime, site, cid, "SECRET internal note")
        agent_reply(runtime, site, cid, "Hi, this is Ana <img src=x onerror=alert(1)>")
        reply, seen = read_until(ws, lambda f: f["type"] == "message")
        assert reply["message"]["body"] == "Hi, this is Ana <img src=x onerror=alert(1)>"
        assert reply["message"]["author_type"] == "agent"
        assert reply["message"]["author_name"] == "Ana"
        assert "author_id" not in reply["message"]
        assert "SECRET" not in str(seen)
        # The reply assigned the conversation, nothing a customer sees; resolving it is.
        with runtime.db.write() as s:
            conversation = s.get(Conversation, cid)
            assert conversation is not None
            do_change_status(s, conversation, "resolved", actor=Actor("agent", site.agent_id))
        status, seen = read_until(ws, lambda f: f["type"] == "conversation")
        assert status["conversation"] == {"id": cid, "status": "resolved", "last_seq": 3}
        assert "SECRET" not in str(seen)


def test_resume_returns_exactly_the_missed_messages(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    session = start(client, site)
    cid = post(client, site, session, "one").json()["conversation"]["id"]
    agent_reply(runtime, site, cid, "two")
    agent_note(runtime, site, cid, "three (a note)")
    agent_reply(runtime, site, cid, "four")
    with client.websocket_connect(ws_url(site, session)) as ws:
        # The server says which conversation is current, and how far it goes.
        hello = ws.receive_json()
        assert hello == {
            "type": "conversation",
            "conversation": {"id": cid, "status": "open", "last_seq": 4},
        }
        ws.send_json({"type": "resume", "conversation_id": cid, "after_seq": 1})
        missed, _ = read_until(ws, lambda f: f["type"] == "messages")
        assert missed["conversation_id"] == cid
        assert [(m["seq"], m["body"]) for m in missed["messages"]] == [(2, "two"), (4, "four")]
        ws.send_json({"type": "resume", "conversation_id": cid, "after_seq": 4})
        nothing, _ = read_until(ws, lambda f: f["type"] == "messages")
        assert nothing["messages"] == []
        # Live messages keep coming after a resume.
        agent_reply(runtime, site, cid, "five")
        live, _ = read_until(ws, lambda f: f["type"] == "message")
        assert live["message"]["seq"] == 5


def test_a_message_from_another_tab_reaches_this_one(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    session = start(client, site)
    cid = post(client, site, session, "first").json()["conversation"]["id"]
    with (
        client.websocket_connect(ws_url(site, session)) as tab_a,
        client.websocket_connect(ws_url(site, session)) as tab_b,
    ):
        read_until(tab_a, lambda f: f["type"] == "conversation")
        read_until(tab_b, lambda f: f["type"] == "conversation")
        frame = send(tab_a, "from tab A", conversation_id=cid)
        acked(tab_a, frame["client_id"])
        live, _ = read_until(tab_b, lambda f: f["type"] == "message")
        assert live["message"]["body"] == "from tab A"
        assert live["message"]["client_id"] == frame["client_id"]


def test_ping_is_answered(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    with client.websocket_connect(ws_url(site, start(client, site))) as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def closed_with(client: TestClient, url: str, **kwargs: Any) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(url, **kwargs) as ws,
    ):
        ws.receive_json()
    return info.value.code


def test_refused_connections_close_with_a_code_the_widget_understands(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    other = make_site(runtime, name="Other")
    session = start(client, site)
    url = ws_url(site, session)
    assert closed_with(client, url, headers={"Origin": "https://evil.example"}) == 4403
    assert closed_with(client, f"{site.api}/ws?token=forged") == 4401
    assert closed_with(client, f"{site.api}/ws") == 4401
    assert closed_with(client, f"{other.api}/ws?token={session['session_token']}") == 4401
    assert closed_with(client, f"/widget/v1/nope/ws?token={session['session_token']}") == 4404
    # An allowed origin and the server's own are fine.
    for origin in (SHOP, "http://testserver"):
        with client.websocket_connect(url, headers={"Origin": origin}) as ws:
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("{not json", "invalid_input", "not valid JSON"),
        ('{"type": "dance"}', "invalid_input", "type"),
        ('{"type": "send", "client_id": "c1"}', "invalid_input", "text"),
        ('{"type": "send", "client_id": "c1", "text": "   "}', "invalid_input", "empty"),
        (
            '{"type": "send", "client_id": "c1", "text": "' + "x" * 10_001 + '"}',
            "invalid_input",
            "too long",
        ),
        ('{"type": "send", "client_id": "c 1", "text": "hi"}', "invalid_input", "client_id"),
        ('{"type": "send", "client_id": "c1", "text": "a\\ud800"}', "invalid_input", "UTF-8"),
        (
            '{"type": "send", "client_id": "c1", "text": "hi", "conversation_id": 99999}',
            "not_found",
            "99999",
        ),
        ('{"type": "resume", "conversation_id": 99999, "after_seq": 0}', "not_found", "99999"),
        ('{"type": "resume", "conversation_id": 1, "after_seq": -1}', "invalid_input", "after_seq"),
        (
            '{"type": "send", "client_id": "c1", "text": "hi", "workspace_id": 2}',
            "invalid_input",
            "workspace_id",
        ),
    ],
)
def test_bad_frames_get_an_error_frame_and_store_nothing(
    client: TestClient, runtime: Runtime, raw: str, code: str, fragment: str
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    before = counts(runtime)
    with client.websocket_connect(ws_url(site, session)) as ws:
        ws.send_text(raw)
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == code, error
        assert fragment in error["message"]
        if '"client_id": "c1"' in raw:
            assert error["client_id"] == "c1"
        # The connection stays usable.
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert counts(runtime) == before


def test_binary_frames_must_be_utf8_json(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    with client.websocket_connect(ws_url(site, start(client, site))) as ws:
        ws.send_bytes(b"\xff\xfe\x00")
        assert ws.receive_json()["message"] == "The frame is not valid UTF-8."
        ws.send_bytes(b'{"type": "ping"}')
        assert ws.receive_json() == {"type": "pong"}


def test_another_visitors_conversation_cannot_be_followed(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    theirs = start(client, site)
    cid = post(client, site, theirs, "private").json()["conversation"]["id"]
    mine = start(client, site)
    with client.websocket_connect(ws_url(site, mine)) as ws:
        ws.send_json({"type": "resume", "conversation_id": cid, "after_seq": 0})
        error = ws.receive_json()
        assert error["code"] == "not_found"
        frame = send(ws, "let me in", conversation_id=cid)
        refused = ws.receive_json()
        assert refused["code"] == "not_found" and refused["client_id"] == frame["client_id"]
        agent_reply(runtime, site, cid, "private reply")
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # and no private reply before it
    assert bodies(runtime, cid) == ["private", "private reply"]

"""The HTTP fallback: POST messages and GET messages after a sequence number; bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent, Message
from tests.web.widget.site import (
    agent_note,
    agent_reply,
    bearer,
    bodies,
    counts,
    make_site,
    new_client_id,
    post,
    start,
)


def test_send_is_stored_once_and_acknowledged_with_the_message(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    body = {
        "client_id": new_client_id(),
        "text": "  My bike makes a noise  ",
        "conversation_id": None,
        "page_url": "https://shop.example.com/bikes/7",
    }
    first = client.post(f"{site.api}/messages", json=body, headers=bearer(session))
    again = client.post(f"{site.api}/messages", json=body, headers=bearer(session))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    message = first.json()["message"]
    assert message["body"] == "My bike makes a noise"
    assert message["client_id"] == body["client_id"] and message["seq"] == 1
    conversation = first.json()["conversation"]
    assert conversation == {"id": message["conversation_id"], "status": "open", "last_seq": 1}
    assert bodies(runtime, conversation["id"]) == ["My bike makes a noise"]
    with runtime.db.read() as s:
        types = list(
            s.scalars(
                select(ConversationEvent.type).where(
                    ConversationEvent.conversation_id == conversation["id"]
                )
            )
        )
    assert types.count("message_received") == 1 and "conversation_created" in types


def test_messages_without_a_conversation_go_to_the_current_one(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    one = post(client, site, session, "one").json()
    two = post(client, site, session, "two").json()  # a second tab that did not know it yet
    assert one["conversation"]["id"] == two["conversation"]["id"]
    assert counts(runtime)["conversations"] == 1


def test_after_seq_returns_exactly_what_was_missed_and_never_notes(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    cid = post(client, site, session, "one").json()["conversation"]["id"]
    agent_reply(runtime, site, cid, "two")
    agent_note(runtime, site, cid, "internal: customer is a VIP")
    post(client, site, session, "three", conversation_id=cid)
    url = f"{site.api}/conversations/{cid}/messages"
    everything = client.get(url, headers=bearer(session)).json()
    assert [m["body"] for m in everything["messages"]] == ["one", "two", "three"]
    assert everything["messages"][1]["author_name"] == "Ana"
    assert everything["messages"][1]["author_type"] == "agent"
    missed = client.get(url, params={"after_seq": 1}, headers=bearer(session)).json()
    assert [(m["seq"], m["body"]) for m in missed["messages"]] == [(2, "two"), (4, "three")]
    none = client.get(url, params={"after_seq": 4}, headers=bearer(session)).json()
    assert none["messages"] == [] and none["conversation"]["last_seq"] == 4
    assert client.get(url, params={"after_seq": -1}, headers=bearer(session)).status_code == 422


def test_another_visitors_conversation_is_not_found(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    mine = start(client, site)
    theirs = start(client, site)
    cid = post(client, site, theirs, "private").json()["conversation"]["id"]
    before = counts(runtime)
    read = client.get(f"{site.api}/conversations/{cid}/messages", headers=bearer(mine))
    write = post(client, site, mine, "let me in", conversation_id=cid)
    missing = client.get(f"{site.api}/conversations/999999/messages", headers=bearer(mine))
    assert read.status_code == write.status_code == missing.status_code == 404
    assert read.json()["error"]["message"] == f"Conversation {cid} was not found."
    assert counts(runtime) == before


def test_someone_elses_client_id_reveals_nothing(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    victim = start(client, site)
    client_id = new_client_id()
    body = {"client_id": client_id, "text": "my address is …", "conversation_id": None}
    assert client.post(f"{site.api}/messages", json=body, headers=bearer(victim)).status_code == 200
    attacker = start(client, site)
    body["text"] = "x"
    response = client.post(f"{site.api}/messages", json=body, headers=bearer(attacker))
    assert response.status_code == 409
    assert "address" not in response.text


def test_a_closed_conversation_stays_closed_and_a_new_one_starts(
    client: TestClient, runtime: Runtime
) -> None:
    from frontdesk.conversations.actions import do_change_status
    from frontdesk.conversations.events import Actor
    from frontdesk.store.models import Conversation

    site = make_site(runtime)
    session = start(client, site)
    cid = post(client, site, session, "one").json()["conversation"]["id"]
    with runtime.db.write() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        do_change_status(s, conversation, "closed", actor=Actor("agent", site.agent_id))
    reply = post(client, site, session, "another question", conversation_id=cid).json()
    assert reply["conversation"]["id"] != cid
    assert (
        start(client, site, visitor_token=session["visitor_token"])["conversation"]["id"]
        == (reply["conversation"]["id"])
    )


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"text": ""}, 422, "empty"),
        ({"text": "   \n  "}, 422, "empty"),
        ({"text": "x" * 10_001}, 422, "too long"),
        ({"text": "nul \x00 byte"}, 422, "NUL"),
        ({"text": "half \ud800 surrogate"}, 422, "UTF-8"),
        ({"client_id": ""}, 422, "client_id"),
        ({"client_id": "has spaces in it"}, 422, "client_id"),
        ({"client_id": "x" * 65}, 422, "client_id"),
        ({"client_id": 12}, 422, "client_id"),
        ({"text": 12}, 422, "text"),
        ({"conversation_id": "abc"}, 422, "conversation_id"),
        ({"workspace_id": 1}, 422, "workspace_id"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored(
    client: TestClient, runtime: Runtime, body: dict[str, object], status: int, fragment: str
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    before = counts(runtime)
    payload = {"client_id": new_client_id(), "text": "hello", "conversation_id": None, **body}
    response = client.post(
        f"{site.api}/messages",
        content=json.dumps(payload),  # ASCII escapes: a lone surrogate arrives as \ud800
        headers={**bearer(session), "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert fragment in error["message"] + str(error["details"])
    assert counts(runtime) == before


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"client_id": "a", "text": ', "not valid JSON"),
        (b"\xff\xfe not utf-8 at all", ""),
        (b'{"client_id": "a", "text": "caf\xe9"}', ""),
        (b"[1, 2]", ""),
    ],
)
def test_malformed_bodies_are_refused(
    client: TestClient, runtime: Runtime, raw: bytes, fragment: str
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    before = counts(runtime)
    headers = {**bearer(session), "Content-Type": "application/json"}
    for path in ("/messages", "/session"):
        response = client.post(f"{site.api}{path}", content=raw, headers=headers)
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["message"]
        assert fragment in response.json()["error"]["message"]
    assert counts(runtime) == before


def test_unknown_workspace_is_not_found(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/widget/v1/no-such-shop/session", json={})
    assert response.status_code == 404
    assert "no-such-shop" in response.json()["error"]["message"]
    assert client.get("/widget/v1/no-such-shop/conversations/1/messages").status_code == 404
    assert counts(runtime)["customers"] == 0


def test_page_url_is_kept_only_when_it_is_a_web_address(
    client: TestClient, runtime: Runtime
) -> None:
    from frontdesk.store.models import Conversation

    site = make_site(runtime)
    session = start(client, site)
    cid = post(client, site, session, "hi", page_url="javascript:alert(document.cookie)").json()[
        "conversation"
    ]["id"]
    post(client, site, session, "again", conversation_id=cid, page_url="https://shop.example.com/a")
    with runtime.db.read() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        assert conversation.page_url == "https://shop.example.com/a"
        assert all("javascript" not in str(m.meta) for m in s.scalars(select(Message)).all())

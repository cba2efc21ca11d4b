from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent, Message
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot


def new_events(runtime: Runtime, conversation_id: int, after: int = 0) -> list[tuple[str, str]]:
    with runtime.db.read() as s:
        rows = s.scalars(
            select(ConversationEvent)
            .where(
                ConversationEvent.conversation_id == conversation_id, ConversationEvent.id > after
            )
            .order_by(ConversationEvent.id)
        ).all()
        return [(e.type, e.actor_type) for e in rows]


def test_reply_note_and_customer_message(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    cid = tenant_a.conversation_id
    reply = api.post(
        f"/conversations/{cid}/messages", json={"body": "Here it is", "agent_id": tenant_a.agent_id}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["author_type"] == "agent" and reply.json()["kind"] == "message"
    assert reply.json()["author_id"] == tenant_a.agent_id and reply.json()["seq"] == 2
    note = api.post(
        f"/conversations/{cid}/messages",
        json={"body": "VIP, be nice", "kind": "note", "agent_id": tenant_a.admin_id},
    )
    assert note.status_code == 201 and note.json()["kind"] == "note"
    api.patch(f"/conversations/{cid}", json={"status": "resolved"})
    customer = api.post(
        f"/conversations/{cid}/messages", json={"author": "customer", "body": "One more thing"}
    )
    assert customer.status_code == 201, customer.text
    assert (
        customer.json()["author_type"] == "customer" and customer.json()["conversation_id"] == cid
    )
    conversation = api.get(f"/conversations/{cid}").json()
    assert conversation["status"] == "open"  # a customer reply reopens (F24)
    assert conversation["assignee_id"] == tenant_a.agent_id  # who answered took it
    assert [t for t, _ in new_events(runtime, cid)][2:] == [
        "agent_replied",
        "assigned",
        "note_added",
        "status_changed",
        "message_received",
        "status_changed",
    ]
    listed = api.get(f"/conversations/{cid}/messages").json()["data"]
    assert [(m["seq"], m["kind"]) for m in listed] == [
        (1, "message"),
        (2, "message"),
        (3, "note"),
        (4, "message"),
    ]
    after = api.get(f"/conversations/{cid}/messages", params={"after_seq": 2}).json()["data"]
    assert [m["seq"] for m in after] == [3, 4]


def test_message_to_closed_conversation_starts_a_new_one(api: Api, tenant_a: Tenant) -> None:
    cid = tenant_a.conversation_id
    api.patch(f"/conversations/{cid}", json={"status": "closed"})
    response = api.post(f"/conversations/{cid}/messages", json={"author": "customer", "body": "Hi"})
    assert response.status_code == 201
    assert response.json()["conversation_id"] != cid
    assert api.get(f"/conversations/{cid}").json()["status"] == "closed"


@pytest.mark.parametrize(
    "payload",
    [
        {"author": "agent", "kind": "reply", "body": "x", "agent_id": None},
        {"author": "customer", "body": "hi", "client_id": "c-1"},
        {"kind": "note", "body": "x", "client_id": "n-1"},
    ],
)
def test_client_id_stores_once(
    api: Api, runtime: Runtime, tenant_a: Tenant, payload: dict[str, Any]
) -> None:
    payload = {**payload, "client_id": payload.get("client_id", "r-1")}
    if "agent_id" in payload or payload.get("kind") == "note":
        payload["agent_id"] = tenant_a.agent_id
    path = f"/conversations/{tenant_a.conversation_id}/messages"
    first = api.post(path, json=payload)
    again = api.post(path, json=payload)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["id"] == again.json()["id"]
    with runtime.db.read() as s:
        stored = s.scalars(select(Message).where(Message.client_id == payload["client_id"])).all()
        assert len(stored) == 1


def test_client_id_of_another_conversation_is_409(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    other = api.post("/conversations", json={"customer_id": tenant_a.customer_id, "body": "new"})
    api.post(
        f"/conversations/{other.json()['id']}/messages",
        json={"body": "x", "agent_id": tenant_a.agent_id, "client_id": "dup"},
    )
    before = snapshot(runtime)
    response = api.post(
        f"/conversations/{tenant_a.conversation_id}/messages",
        json={"body": "x", "agent_id": tenant_a.agent_id, "client_id": "dup"},
    )
    assert_error(response, 409, "conflict")
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "no agent"},
        {"body": "x", "agent_id": "1"},
        {"body": "x", "agent_id": 1, "kind": "whisper"},
        {"body": "", "agent_id": 1},
        {"body": " \n\t ", "agent_id": 1},
        {"body": "x" * 10_001, "agent_id": 1},
        {"body": "x", "agent_id": 1, "author_type": "system"},
        {"body": "x", "agent_id": 1, "client_id": "has spaces"},
        {"author": "customer", "body": "x", "agent_id": 1},
        {"author": "bot", "body": "x", "agent_id": 1},
        {"author": "customer", "body": "   "},
    ],
)
def test_bad_messages_are_refused_and_store_nothing(
    api: Api, runtime: Runtime, tenant_a: Tenant, payload: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    response = api.post(f"/conversations/{tenant_a.conversation_id}/messages", json=payload)
    assert_error(response, 422, "invalid_input")
    assert snapshot(runtime) == before


def test_deactivated_agent_cannot_write(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    assert api.patch(f"/agents/{tenant_a.agent_id}", json={"is_active": False}).status_code == 200
    before = snapshot(runtime)
    response = api.post(
        f"/conversations/{tenant_a.conversation_id}/messages",
        json={"body": "x", "agent_id": tenant_a.agent_id},
    )
    assert_error(response, 409, "conflict")
    assert snapshot(runtime) == before

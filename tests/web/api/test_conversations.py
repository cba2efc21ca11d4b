from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent, Message, utcnow
from tests.factories import make_customer, make_message
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot


def event_types(runtime: Runtime, conversation_id: int) -> list[str]:
    with runtime.db.read() as s:
        return list(
            s.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.id)
            )
        )


def test_get_one(api: Api, tenant_a: Tenant) -> None:
    response = api.get(f"/conversations/{tenant_a.conversation_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == tenant_a.conversation_id
    assert body["customer"]["id"] == tenant_a.customer_id
    assert body["customer"]["name"] == "Acme Customer"
    assert body["status"] == "open" and body["channel"] == "chat"
    assert body["last_message_preview"] == "Where is my invoice?"


def test_list_filters(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    with runtime.db.write() as s:
        from frontdesk.store.models import Workspace

        ws = s.get(Workspace, tenant_a.workspace_id)
        assert ws is not None
        other = make_customer(s, ws, name="Other")
        second = make_message(s, ws, other, "Hola, necesito ayuda", channel="email")
    assert (
        api.patch(
            f"/conversations/{second.conversation_id}", json={"priority": "urgent"}
        ).status_code
        == 200
    )

    def ids(**params: Any) -> list[int]:
        response = api.get("/conversations", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]]

    both = [second.conversation_id, tenant_a.conversation_id]
    assert ids() == both  # newest first
    assert ids(channel="email") == [second.conversation_id]
    assert ids(channel=["email", "chat"]) == both
    assert ids(priority="urgent") == [second.conversation_id]
    assert ids(priority="normal") == [tenant_a.conversation_id]
    assert ids(customer_id=tenant_a.customer_id) == [tenant_a.conversation_id]
    assert ids(status="open") == both
    assert ids(status="resolved") == []
    assert ids(in_triage="false") == both
    assert ids(in_triage="true") == []
    assert ids(team_id=tenant_a.team_id) == []
    assert ids(assignee_id=tenant_a.agent_id) == []
    assert ids(updated_after=(utcnow() - timedelta(hours=1)).isoformat()) == both
    assert ids(updated_after=(utcnow() + timedelta(hours=1)).isoformat()) == []
    assert ids(language="zz") == []


@pytest.mark.parametrize(
    "params",
    [
        {"status": "open' OR '1'='1"},
        {"status": "open; DROP TABLE conversations;--"},
        {"priority": "1) OR (1=1"},
        {"channel": "chat' --"},
        {"team_id": "1 OR 1=1"},
        {"assignee_id": "0; DELETE FROM agents"},
        {"customer_id": "1 UNION SELECT * FROM api_tokens"},
        {"language": "en' OR 'a'='a"},
        {"in_triage": "true OR 1=1"},
        {"updated_after": "2020-01-01' OR '1'='1"},
        {"limit": "10; DROP TABLE messages"},
        {"order_by": "id; DROP TABLE conversations"},
        {"status[$ne]": "closed"},
    ],
)
def test_sql_in_filters_is_refused(api: Api, runtime: Runtime, params: dict[str, str]) -> None:
    before = snapshot(runtime)
    error = assert_error(api.get("/conversations", params=params), 422, "invalid_input")
    assert error["details"], error
    assert snapshot(runtime) == before


def test_sql_in_free_text_filters_matches_nothing(api: Api) -> None:
    for value in ("x' OR '1'='1", "%", "_", "\\"):
        response = api.get("/customers", params={"external_id": value})
        assert response.status_code == 200, response.text
        assert response.json()["data"] == []
    response = api.get("/events", params={"type": "x' OR 1=1 --"})
    assert_error(response, 422)


def test_updated_after_needs_a_timezone(api: Api) -> None:
    error = assert_error(
        api.get("/conversations", params={"updated_after": "2024-01-01T00:00:00"}), 422
    )
    assert error["details"][0]["field"].endswith("updated_after")


def test_create_for_existing_customer_takes_the_ingest_path(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    response = api.post(
        "/conversations",
        json={
            "customer_id": tenant_a.customer_id,
            "body": "  Can I change my plan?  ",
            "subject": "Plan",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["channel"] == "api" and body["subject"] == "Plan"
    assert body["customer_id"] == tenant_a.customer_id
    assert body["language"] == "en"  # the pipeline's language step ran
    # Recorded through the ingest path, then the pipeline's steps ran on it.
    assert event_types(runtime, body["id"])[:2] == ["conversation_created", "message_received"]
    with runtime.db.read() as s:
        message = s.scalars(
            select(Message).where(
                Message.conversation_id == body["id"], Message.author_type == "customer"
            )
        ).one()
        assert message.body == "Can I change my plan?"


def test_create_for_new_customer_then_found_again(api: Api, runtime: Runtime) -> None:
    first = api.post(
        "/conversations",
        json={"customer": {"email": "New@Example.com", "name": "Nia"}, "body": "Hello"},
    )
    assert first.status_code == 201, first.text
    customer_id = first.json()["customer"]["id"]
    assert first.json()["customer"]["email"] == "new@example.com"
    again = api.post(
        "/conversations", json={"customer": {"email": "new@example.com"}, "body": "Me again"}
    )
    assert again.status_code == 201
    assert again.json()["customer"]["id"] == customer_id
    assert again.json()["id"] != first.json()["id"]
    by_external = api.post(
        "/conversations", json={"customer": {"external_id": "u-1", "name": "Uma"}, "body": "Hi"}
    )
    assert by_external.status_code == 201
    customer = api.get(f"/customers/{by_external.json()['customer']['id']}").json()
    assert customer["external_id"] == "u-1" and customer["verified"] is True


def test_create_is_idempotent_on_client_id(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    payload = {"customer_id": tenant_a.customer_id, "body": "Once", "client_id": "req-42"}
    first = api.post("/conversations", json=payload)
    again = api.post("/conversations", json=payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    with runtime.db.read() as s:
        assert len(s.scalars(select(Message).where(Message.client_id == "req-42")).all()) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "no customer"},
        {"customer_id": 1, "customer": {"email": "a@b.c"}, "body": "both"},
        {"customer": {"name": "Only a name"}, "body": "who?"},
        {"customer": {"email": "not an email"}, "body": "x"},
        {"customer": {"email": "a@b.c", "verified": True}, "body": "x"},
        {"customer": {"email": "a@b.c"}, "body": "   "},
        {"customer": {"email": "a@b.c"}, "body": ""},
        {"customer": {"email": "a@b.c"}, "body": "nul \x00 inside"},
        {"customer": {"email": "a@b.c"}, "body": "x" * 10_001},
        {"customer": {"email": "a@b.c"}, "body": "x", "channel": "chat"},
        {"customer": {"email": "a@b.c"}, "body": "x", "workspace_id": 2},
        {"customer_id": 2**63, "body": "x"},
        {"customer_id": "1; DROP TABLE customers", "body": "x"},
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(
    api: Api, runtime: Runtime, payload: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    assert_error(api.post("/conversations", json=payload), 422, "invalid_input")
    assert snapshot(runtime) == before


def test_patch_changes_everything_and_records_events(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    cid = tenant_a.conversation_id
    until = (utcnow() + timedelta(days=1)).isoformat()
    response = api.patch(
        f"/conversations/{cid}",
        json={
            "status": "snoozed",
            "snoozed_until": until,
            "priority": "high",
            "team_id": tenant_a.team_id,
            "assignee_id": tenant_a.agent_id,
            "tags": ["Billing", "refund", "billing"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["priority"], body["team_id"], body["assignee_id"]) == (
        "snoozed",
        "high",
        tenant_a.team_id,
        tenant_a.agent_id,
    )
    assert body["tags"] == ["billing", "refund"] and body["snoozed_until"] is not None
    with runtime.db.read() as s:
        events = s.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == cid)
            .order_by(ConversationEvent.id)
        ).all()
    new = [e for e in events if e.actor_type == "api"]
    assert [e.type for e in new] == [
        "team_changed",
        "assigned",
        "status_changed",
        "priority_changed",
        "tags_changed",
    ]
    assert all(e.actor_id is not None for e in new)
    # Changing only the team drops an assignee who is not a member of the new one.
    other_team = api.post("/teams", json={"name": "Sales"}).json()["id"]
    moved = api.patch(f"/conversations/{cid}", json={"team_id": other_team}).json()
    assert (moved["team_id"], moved["assignee_id"]) == (other_team, None)
    cleared = api.patch(f"/conversations/{cid}", json={"team_id": None, "status": "resolved"})
    assert cleared.json()["team_id"] is None and cleared.json()["status"] == "resolved"
    assert cleared.json()["snoozed_until"] is None


def test_patch_without_changes_records_nothing(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    before = snapshot(runtime)
    response = api.patch(f"/conversations/{tenant_a.conversation_id}", json={"status": "open"})
    assert response.status_code == 200
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "snoozed"},
        {"status": "snoozed", "snoozed_until": "2001-01-01T00:00:00Z"},
        {"status": "snoozed", "snoozed_until": "2999-01-01T00:00:00"},
        {"snoozed_until": "2999-01-01T00:00:00Z"},
        {"status": "open", "snoozed_until": "2999-01-01T00:00:00Z"},
        {"status": "deleted"},
        {"priority": "asap"},
        {"status": None},
        {"tags": ["x" * 51]},
        {"tags": "billing"},
        {"workspace_id": 99},
        {"customer_id": 1},
        {"channel": "email"},
        {"in_triage": True},
        {"priority": "high", "status": "bogus"},
    ],
)
def test_patch_refuses_bad_input_and_changes_nothing(
    api: Api, runtime: Runtime, tenant_a: Tenant, payload: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    assert_error(api.patch(f"/conversations/{tenant_a.conversation_id}", json=payload), 422)
    assert snapshot(runtime) == before


def test_patch_assignee_outside_team_is_refused_whole(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    before = snapshot(runtime)
    response = api.patch(
        f"/conversations/{tenant_a.conversation_id}",
        json={"priority": "urgent", "team_id": tenant_a.team_id, "assignee_id": tenant_a.admin_id},
    )
    error = assert_error(response, 422)
    assert "not a member" in error["message"]
    assert snapshot(runtime) == before


def test_conversation_events(api: Api, tenant_a: Tenant) -> None:
    api.patch(f"/conversations/{tenant_a.conversation_id}", json={"priority": "low"})
    response = api.get(f"/conversations/{tenant_a.conversation_id}/events")
    assert response.status_code == 200, response.text
    events = response.json()["data"]
    assert [e["type"] for e in events] == [
        "conversation_created",
        "message_received",
        "priority_changed",
    ]
    assert events[2]["actor"]["type"] == "api"
    assert events[2]["data"] == {"from": "normal", "to": "low"}
    assert events[0]["created_at"].endswith(("Z", "+00:00"))


def test_list_query_count_does_not_grow_with_rows(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    def count_queries() -> int:
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        engine: Engine = runtime.db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            response = api.get("/conversations", params={"limit": 100})
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    api.get("/workspace")  # the token's first use records last_used_at: not part of the list
    few = count_queries()
    with runtime.db.write() as s:
        from frontdesk.store.models import Workspace

        ws = s.get(Workspace, tenant_a.workspace_id)
        assert ws is not None
        for i in range(30):
            make_message(s, ws, make_customer(s, ws, name=f"C{i}"), f"Question {i}")
    many = count_queries()
    assert len(api.get("/conversations", params={"limit": 100}).json()["data"]) == 31
    assert many == few == 3  # the token, its workspace, then one query for the whole page

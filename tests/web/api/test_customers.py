from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot


def test_create_get_list_and_update(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    created = api.post(
        "/customers",
        json={
            "email": "Ana@Example.com",
            "name": "Ana",
            "external_id": "user-7",
            "language": "th",
            "attributes": {"plan": "pro", "vip": True, "signup_date": "2024-05-31", "seats": 4},
        },
    )
    assert created.status_code == 201, created.text
    ana = created.json()
    assert ana["email"] == "ana@example.com" and ana["verified"] is True
    assert ana["attributes"] == {
        "plan": "pro",
        "vip": True,
        "signup_date": "2024-05-31",
        "seats": 4,
    }
    assert ana["conversation_ids"] == []
    listed = api.get("/customers", params={"external_id": "user-7"}).json()["data"]
    assert [c["id"] for c in listed] == [ana["id"]]
    assert [
        c["id"] for c in api.get("/customers", params={"email": "ANA@example.com"}).json()["data"]
    ] == [ana["id"]]
    updated = api.patch(
        f"/customers/{ana['id']}",
        json={"name": "Ana B.", "language": None, "attributes": {"vip": None, "spend": 12.5}},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["name"] == "Ana B." and body["language"] is None
    assert body["attributes"] == {
        "plan": "pro",
        "signup_date": "2024-05-31",
        "seats": 4,
        "spend": 12.5,
    }
    detail = api.get(f"/customers/{tenant_a.customer_id}").json()
    assert detail["conversation_ids"] == [tenant_a.conversation_id]
    with runtime.db.read() as s:
        types = list(
            s.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.actor_type == "api")
                .order_by(ConversationEvent.id)
            )
        )
    assert types == ["customer_created", "customer_updated"]


def test_duplicates_are_409(api: Api, runtime: Runtime) -> None:
    api.post("/customers", json={"email": "a@x.test", "external_id": "u1"})
    other = api.post("/customers", json={"email": "b@x.test"}).json()
    before = snapshot(runtime)
    assert_error(api.post("/customers", json={"external_id": "u1"}), 409, "conflict")
    assert_error(api.post("/customers", json={"email": "A@x.test"}), 409, "conflict")
    assert_error(api.patch(f"/customers/{other['id']}", json={"email": "a@x.test"}), 409)
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"verified": True},
        {"workspace_id": 2},
        {"visitor_token_hash": "x"},
        {"email": "not-an-email"},
        {"name": None},
        {"attributes": {"Bad Key": 1}},
        {"attributes": {"vip": "yes"}},
        {"attributes": {"signup_date": "yesterday"}},
        {"attributes": {"nested": {"a": 1}}},
        {"attributes": {"plan": "x" * 1001}},
        {"language": "english; DROP TABLE customers"},
    ],
)
def test_create_refuses_bad_input(api: Api, runtime: Runtime, payload: dict[str, Any]) -> None:
    before = snapshot(runtime)
    assert_error(api.post("/customers", json={"email": "z@x.test", **payload}), 422)
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"verified": True},
        {"workspace_id": 2},
        {"external_id": "takeover"},
        {"attributes": {"vip": "yes"}, "name": "Changed"},
        {"attributes": None},
        {"email": "a b@c.d"},
    ],
)
def test_update_refuses_bad_input_whole(
    api: Api, runtime: Runtime, tenant_a: Tenant, payload: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    assert_error(api.patch(f"/customers/{tenant_a.customer_id}", json=payload), 422)
    assert snapshot(runtime) == before

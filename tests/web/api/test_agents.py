from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.accounts.actions import consume_agent_token
from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot


def test_invite_agent_and_the_link_works_once(api: Api, runtime: Runtime) -> None:
    response = api.post("/agents", json={"email": "Neo@Example.com", "name": "Neo"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["agent"]["email"] == "neo@example.com" and body["agent"]["role"] == "agent"
    assert body["invite_url"].startswith("http://127.0.0.1/invite/")
    token = body["invite_url"].rsplit("/", 1)[1]
    with runtime.db.write() as s:
        assert consume_agent_token(s, token, "invite").id == body["agent"]["id"]
    assert_error(api.post("/agents", json={"email": "neo@example.com", "name": "Neo 2"}), 409)


def test_update_agent_and_last_admin_is_protected(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    response = api.patch(
        f"/agents/{tenant_a.agent_id}",
        json={"name": "Renamed", "availability": "away", "capacity": 3, "role": "admin"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["availability"], body["capacity"], body["role"]) == (
        "Renamed",
        "away",
        3,
        "admin",
    )
    with runtime.db.read() as s:
        assert "agent_availability_changed" in s.scalars(select(ConversationEvent.type)).all()
    assert api.patch(f"/agents/{tenant_a.agent_id}", json={"role": "agent"}).status_code == 200
    before = snapshot(runtime)
    assert_error(api.patch(f"/agents/{tenant_a.admin_id}", json={"role": "agent"}), 409, "conflict")
    assert_error(api.patch(f"/agents/{tenant_a.admin_id}", json={"is_active": False}), 409)
    assert snapshot(runtime) == before
    listed = api.get("/agents").json()["data"]
    assert [a["id"] for a in listed] == [tenant_a.admin_id, tenant_a.agent_id]
    assert "password_hash" not in listed[0]


@pytest.mark.parametrize(
    "payload",
    [
        {"password": "hunter2hunter2"},
        {"password_hash": "x"},
        {"email": "new@example.com"},
        {"workspace_id": 2},
        {"role": "owner"},
        {"availability": "busy"},
        {"capacity": -1},
        {"capacity": 1001},
        {"capacity": "5"},
        {"is_active": "no"},
        {"is_active": 0},
        {"name": "x" * 201},
    ],
)
def test_agent_mass_assignment_and_bad_values(
    api: Api, runtime: Runtime, tenant_a: Tenant, payload: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    assert_error(api.patch(f"/agents/{tenant_a.agent_id}", json=payload), 422, "invalid_input")
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "x@example.com", "name": "X", "role": "superuser"},
        {"email": "x@example.com", "name": "X", "password": "letmein-letmein"},
        {"email": "x@example.com", "name": "X", "is_active": False},
        {"email": "nope", "name": "X"},
        {"email": "x@example.com"},
    ],
)
def test_invite_refuses_bad_input(api: Api, runtime: Runtime, payload: dict[str, Any]) -> None:
    before = snapshot(runtime)
    assert_error(api.post("/agents", json=payload), 422, "invalid_input")
    assert snapshot(runtime) == before

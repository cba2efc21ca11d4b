from __future__ import annotations

from typing import Any

import pytest

from frontdesk.runtime import Runtime
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot


def test_workspace_get_and_patch(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    workspace = api.get("/workspace").json()
    assert workspace["name"] == "Acme" and workspace["default_language"] == "en"
    assert "identity_secret" not in workspace
    response = api.patch(
        "/workspace",
        json={
            "name": "Acme Inc",
            "allowed_origins": ["https://shop.example.com/", "http://localhost:3000"],
            "require_identity": True,
            "default_language": "th",
            "bot_enabled": False,
            "keyword_suggestions_quiet_minutes": 0,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": tenant_a.workspace_id,
        "slug": workspace["slug"],
        "name": "Acme Inc",
        "allowed_origins": ["http://localhost:3000", "https://shop.example.com"],
        "require_identity": True,
        "default_language": "th",
        "bot_enabled": False,
        "keyword_suggestions_quiet_minutes": 0,
    }
    assert workspace["bot_enabled"] is True  # the defaults, before
    assert workspace["keyword_suggestions_quiet_minutes"] == 15


@pytest.mark.parametrize(
    "payload",
    [
        {"identity_secret": "mine"},
        {"slug": "taken"},
        {"id": 2},
        {"allowed_origins": ["https://shop.example.com/path"]},
        {"allowed_origins": ["javascript:alert(1)"]},
        {"allowed_origins": ["https://a.example.com:99999"]},
        {"default_language": "fr"},
        {"require_identity": "yes"},
        {"bot_enabled": "no"},
        {"bot_enabled": None},
        {"keyword_suggestions_quiet_minutes": -1},
        {"keyword_suggestions_quiet_minutes": 1441},
        {"keyword_suggestions_quiet_minutes": 1.5},
        {"keyword_suggestions_quiet_minutes": True},
        {"name": ""},
    ],
)
def test_workspace_refuses_bad_input(api: Api, runtime: Runtime, payload: dict[str, Any]) -> None:
    before = snapshot(runtime)
    assert_error(api.patch("/workspace", json=payload), 422, "invalid_input")
    assert snapshot(runtime) == before


def test_events_are_queryable_by_type_and_conversation(api: Api, tenant_a: Tenant) -> None:
    cid = tenant_a.conversation_id
    api.patch(f"/conversations/{cid}", json={"status": "pending"})
    api.patch(f"/conversations/{cid}", json={"status": "resolved", "priority": "high"})
    changed = api.get("/events", params={"type": "status_changed"}).json()["data"]
    assert [(e["data"]["from"], e["data"]["to"]) for e in changed] == [
        ("open", "pending"),
        ("pending", "resolved"),
    ]
    assert all(e["actor"]["type"] == "api" and e["conversation_id"] == cid for e in changed)
    after = api.get("/events", params={"after_id": changed[0]["id"]}).json()["data"]
    assert [e["type"] for e in after] == ["status_changed", "priority_changed"]
    of_conversation = api.get("/events", params={"conversation_id": cid}).json()["data"]
    assert [e["type"] for e in of_conversation][:2] == ["conversation_created", "message_received"]

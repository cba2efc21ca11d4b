"""A token of workspace A gets 404 for anything of workspace B, exactly as for an id that does
not exist, and nothing changes (RELIABILITY row 3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest

from frontdesk.runtime import Runtime
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot

MISSING_ID = 9_000_000

# Each case: what to send, given the id to try (B's id, or one that exists nowhere).
Attempt = Callable[[Api, Tenant, int], httpx.Response]

ATTEMPTS: dict[str, tuple[str, Attempt]] = {
    "get conversation": ("conversation_id", lambda a, t, i: a.get(f"/conversations/{i}")),
    "patch conversation": (
        "conversation_id",
        lambda a, t, i: a.patch(f"/conversations/{i}", json={"status": "resolved"}),
    ),
    "conversation events": ("conversation_id", lambda a, t, i: a.get(f"/conversations/{i}/events")),
    "list messages": ("conversation_id", lambda a, t, i: a.get(f"/conversations/{i}/messages")),
    "agent reply": (
        "conversation_id",
        lambda a, t, i: a.post(
            f"/conversations/{i}/messages", json={"body": "hi", "agent_id": t.agent_id}
        ),
    ),
    "customer message": (
        "conversation_id",
        lambda a, t, i: a.post(
            f"/conversations/{i}/messages", json={"author": "customer", "body": "hi"}
        ),
    ),
    "reply on behalf of B's agent": (
        "agent_id",
        lambda a, t, i: a.post(
            f"/conversations/{t.conversation_id}/messages", json={"body": "hi", "agent_id": i}
        ),
    ),
    "assign B's team": (
        "team_id",
        lambda a, t, i: a.patch(
            f"/conversations/{t.conversation_id}", json={"team_id": i, "priority": "urgent"}
        ),
    ),
    "assign B's agent": (
        "agent_id",
        lambda a, t, i: a.patch(
            f"/conversations/{t.conversation_id}", json={"assignee_id": i, "status": "pending"}
        ),
    ),
    "start for B's customer": (
        "customer_id",
        lambda a, t, i: a.post("/conversations", json={"customer_id": i, "body": "hi"}),
    ),
    "get customer": ("customer_id", lambda a, t, i: a.get(f"/customers/{i}")),
    "patch customer": (
        "customer_id",
        lambda a, t, i: a.patch(f"/customers/{i}", json={"name": "Mallory"}),
    ),
    "get team": ("team_id", lambda a, t, i: a.get(f"/teams/{i}")),
    "patch team": ("team_id", lambda a, t, i: a.patch(f"/teams/{i}", json={"name": "Mine"})),
    "delete team": ("team_id", lambda a, t, i: a.delete(f"/teams/{i}")),
    "set team members": (
        "team_id",
        lambda a, t, i: a.put(f"/teams/{i}/members", json={"agent_ids": [t.agent_id]}),
    ),
    "add B's agent to a team": (
        "agent_id",
        lambda a, t, i: a.put(f"/teams/{t.team_id}/members", json={"agent_ids": [t.admin_id, i]}),
    ),
    "get agent": ("agent_id", lambda a, t, i: a.get(f"/agents/{i}")),
    "patch agent": ("agent_id", lambda a, t, i: a.patch(f"/agents/{i}", json={"role": "admin"})),
}


def _normalise(error: dict[str, Any], value: int) -> dict[str, Any]:
    return {**error, "message": error["message"].replace(str(value), "<id>")}


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_other_workspace_ids_are_404_like_missing_ones(
    api: Api, runtime: Runtime, tenant_a: Tenant, tenant_b: Tenant, name: str
) -> None:
    field, attempt = ATTEMPTS[name]
    other_id: int = getattr(tenant_b, field)
    before = snapshot(runtime)
    foreign = assert_error(attempt(api, tenant_a, other_id), 404, "not_found")
    assert snapshot(runtime) == before
    missing = assert_error(attempt(api, tenant_a, MISSING_ID), 404, "not_found")
    assert _normalise(foreign, other_id) == _normalise(missing, MISSING_ID)
    assert snapshot(runtime) == before


def test_lists_show_only_the_tokens_workspace(api: Api, tenant_a: Tenant, tenant_b: Tenant) -> None:
    def ids(path: str, **params: Any) -> set[int]:
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["data"]}

    assert ids("/conversations") == {tenant_a.conversation_id}
    assert ids("/conversations", customer_id=tenant_b.customer_id) == set()
    assert ids("/conversations", team_id=tenant_b.team_id) == set()
    assert ids("/customers") == {tenant_a.customer_id}
    assert ids("/customers", email="c@globex.test") == set()
    assert ids("/teams") == {tenant_a.team_id}
    assert ids("/agents") == {tenant_a.admin_id, tenant_a.agent_id}
    events = api.get("/events").json()["data"]
    assert {e["conversation_id"] for e in events} == {tenant_a.conversation_id, None}
    workspace_wide = [e for e in events if e["conversation_id"] is None]
    assert {e["data"]["agent_id"] for e in workspace_wide} == {tenant_a.admin_id, tenant_a.agent_id}
    assert (
        api.get("/events", params={"conversation_id": tenant_b.conversation_id}).json()["data"]
        == []
    )
    assert api.get("/workspace").json()["id"] == tenant_a.workspace_id

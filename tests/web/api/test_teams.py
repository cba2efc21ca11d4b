from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot


def test_team_lifecycle(api: Api, tenant_a: Tenant) -> None:
    created = api.post(
        "/teams", json={"name": "Tier 2", "description": "Hard cases", "assignment": "manual"}
    )
    assert created.status_code == 201, created.text
    team = created.json()
    assert (team["slug"], team["assignment"], team["member_ids"]) == ("tier-2", "manual", [])
    members = api.put(
        f"/teams/{team['id']}/members", json={"agent_ids": [tenant_a.agent_id, tenant_a.admin_id]}
    )
    assert members.status_code == 200
    assert members.json()["member_ids"] == sorted([tenant_a.agent_id, tenant_a.admin_id])
    agent = api.get(f"/agents/{tenant_a.agent_id}").json()
    assert agent["team_ids"] == [tenant_a.team_id, team["id"]]
    patched = api.patch(
        f"/teams/{team['id']}", json={"name": "Tier Two", "assignment": "least_loaded"}
    )
    assert patched.json()["name"] == "Tier Two" and patched.json()["description"] == "Hard cases"
    assert api.get(f"/teams/{team['id']}").json()["assignment"] == "least_loaded"
    assert [t["id"] for t in api.get("/teams").json()["data"]] == [tenant_a.team_id, team["id"]]
    assert_error(api.post("/teams", json={"name": "Tier 2"}), 409, "conflict")


def test_delete_team_moves_its_conversations_out_with_events(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    cid = tenant_a.conversation_id
    api.patch(
        f"/conversations/{cid}",
        json={"team_id": tenant_a.team_id, "assignee_id": tenant_a.agent_id},
    )
    response = api.delete(f"/teams/{tenant_a.team_id}")
    assert response.status_code == 204 and response.content == b""
    assert_error(api.get(f"/teams/{tenant_a.team_id}"), 404)
    conversation = api.get(f"/conversations/{cid}").json()
    assert (conversation["team_id"], conversation["assignee_id"]) == (None, tenant_a.agent_id)
    with runtime.db.read() as s:
        last = s.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == cid)
            .order_by(ConversationEvent.id.desc())
        ).first()
        assert last is not None
        assert (last.type, last.actor_type, last.data["reason"]) == (
            "reassigned",
            "api",
            "team_deleted",
        )


@pytest.mark.parametrize(
    "method,path,payload",
    [
        ("post", "/teams", {"name": ""}),
        ("post", "/teams", {"name": "  "}),
        ("post", "/teams", {"name": "Ok", "slug": "Bad Slug"}),
        ("post", "/teams", {"name": "Ok", "assignment": "random"}),
        ("post", "/teams", {"name": "Ok", "workspace_id": 2}),
        ("patch", "/teams/{team}", {"name": "Ok", "workspace_id": 2}),
        ("patch", "/teams/{team}", {"slug": "new"}),
        ("patch", "/teams/{team}", {"name": None}),
        ("put", "/teams/{team}/members", {"agent_ids": ["1"]}),
        ("put", "/teams/{team}/members", {"agent_ids": [0]}),
        ("put", "/teams/{team}/members", {}),
    ],
)
def test_bad_team_input(
    api: Api, runtime: Runtime, tenant_a: Tenant, method: str, path: str, payload: dict[str, Any]
) -> None:
    before = snapshot(runtime)
    response = getattr(api, method)(path.format(team=tenant_a.team_id), json=payload)
    assert_error(response, 422, "invalid_input")
    assert snapshot(runtime) == before

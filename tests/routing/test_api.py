"""/api/v1/rules: lifecycle, ordering, validation (422 with what to fix), SQL in operators and
values, tenancy (another workspace's ids are 404) and mass assignment."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.runtime import Runtime
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot

RULE: dict[str, Any] = {
    "name": "Developers",
    "match": "any",
    "conditions": [
        {"field": "page_url", "op": "prefix", "value": "/developers/"},
        {"field": "keywords", "value": ["python", "API", "webhook"]},
    ],
    "actions": {"priority": "high"},
}


def _rule(api: Api, **changes: Any) -> dict[str, Any]:
    response = api.post("/rules", json={**RULE, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_rule_lifecycle_and_order(api: Api, tenant_a: Tenant) -> None:
    slug = api.get(f"/teams/{tenant_a.team_id}").json()["slug"]
    first = _rule(api, actions={"team": slug})
    assert first["position"] == 0 and first["enabled"] is True and first["match"] == "any"
    assert first["conditions"][1] == {
        "field": "keywords",
        "op": "any",
        "value": ["python", "API", "webhook"],
    }
    second = _rule(api, name="VIP", actions={"team": tenant_a.team_id, "priority": "high"})
    third = _rule(api, name="Tags", actions={"tags": ["API"]})
    assert [r["name"] for r in api.get("/rules").json()["data"]] == ["Developers", "VIP", "Tags"]

    page = api.get("/rules", params={"limit": 2}).json()
    assert [r["name"] for r in page["data"]] == ["Developers", "VIP"]
    rest = api.get("/rules", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [r["name"] for r in rest["data"]] == ["Tags"] and rest["next_cursor"] is None

    reordered = api.post("/rules/reorder", json={"rule_ids": [third["id"], first["id"]]})
    assert reordered.status_code == 200, reordered.text
    assert [r["name"] for r in reordered.json()["data"]] == ["Tags", "Developers", "VIP"]
    assert [r["position"] for r in reordered.json()["data"]] == [0, 1, 2]

    patched = api.patch(f"/rules/{second['id']}", json={"enabled": False})
    assert patched.json()["enabled"] is False and patched.json()["name"] == "VIP"
    assert api.get(f"/rules/{second['id']}").json()["actions"] == {
        "team": tenant_a.team_id,
        "priority": "high",
    }
    assert api.delete(f"/rules/{third['id']}").status_code == 204
    assert_error(api.get(f"/rules/{third['id']}"), 404, "not_found")
    assert [r["position"] for r in api.get("/rules").json()["data"]] == [0, 1]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"conditions": [{"field": "plan", "op": "gt", "value": 3}]}, "conditions"),
        ({"conditions": [{"field": "plan", "op": "eq' OR 1=1 --", "value": "x"}]}, "conditions"),
        ({"conditions": [{"field": "spend", "op": "gt", "value": "1; DROP TABLE rules"}]}, ""),
        ({"conditions": [{"field": "attribute", "key": "plan; --", "op": "eq", "value": 1}]}, ""),
        ({"conditions": []}, "conditions"),
        ({"actions": {}}, "actions"),
        ({"actions": {"priority": "asap"}}, "actions"),
        ({"workspace_id": 2}, "workspace_id"),
        ({"position": 0}, "position"),
    ],
)
def test_bad_definitions_are_422_and_change_nothing(
    api: Api, runtime: Runtime, body: dict[str, Any], fragment: str
) -> None:
    before = snapshot(runtime)
    error = assert_error(api.post("/rules", json={**RULE, **body}), 422, "invalid_input")
    assert error["details"]
    assert fragment in str(error["details"])
    assert snapshot(runtime) == before
    assert api.get("/rules").json()["data"] == []


def test_patch_validates_the_whole_rule(api: Api) -> None:
    rule = _rule(api)
    error = assert_error(
        api.patch(f"/rules/{rule['id']}", json={"conditions": [{"field": "colour"}]}), 422
    )
    assert "field" in str(error["details"])
    assert_error(api.patch(f"/rules/{rule['id']}", json={"id": 5}), 422)
    assert_error(api.post("/rules/reorder", json={"rule_ids": [rule["id"], rule["id"]]}), 422)


def test_targets_must_exist_in_the_workspace(
    api: Api, tenant_a: Tenant, tenant_b: Tenant, runtime: Runtime
) -> None:
    assert_error(api.post("/rules", json={**RULE, "actions": {"team": "nope"}}), 404)
    assert_error(api.post("/rules", json={**RULE, "actions": {"team": tenant_b.team_id}}), 404)
    assert_error(api.post("/rules", json={**RULE, "actions": {"agent": tenant_b.agent_id}}), 404)
    error = assert_error(
        api.post(
            "/rules",
            json={**RULE, "actions": {"team": tenant_a.team_id, "agent": tenant_a.admin_id}},
        ),
        422,
    )
    assert "not a member of that team" in error["message"]
    ok = api.post(
        "/rules", json={**RULE, "actions": {"team": tenant_a.team_id, "agent": tenant_a.agent_id}}
    )
    assert ok.status_code == 201, ok.text


def test_other_workspaces_rules_are_404(
    api: Api, client: Any, tenant_a: Tenant, tenant_b: Tenant, runtime: Runtime
) -> None:
    theirs = Api(client, tenant_b).post("/rules", json=RULE)
    assert theirs.status_code == 201
    rule_id = theirs.json()["id"]
    before = snapshot(runtime)
    assert_error(api.get(f"/rules/{rule_id}"), 404)
    assert_error(api.patch(f"/rules/{rule_id}", json={"enabled": False}), 404)
    assert_error(api.delete(f"/rules/{rule_id}"), 404)
    assert_error(api.post("/rules/reorder", json={"rule_ids": [rule_id]}), 404)
    assert snapshot(runtime) == before
    assert Api(client, tenant_b).get(f"/rules/{rule_id}").json()["enabled"] is True
    assert api.get("/rules").json()["data"] == []


def test_rules_need_a_token(client: Any) -> None:
    assert_error(client.get("/api/v1/rules"), 401)

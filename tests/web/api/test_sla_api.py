"""REST: /api/v1/sla-policies, /api/v1/business-hours and /api/v1/sla-clocks (F31)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.conversations.actions import do_change_priority
from frontdesk.conversations.events import SYSTEM
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, SlaPolicy, Workspace
from tests.factories import make_customer, make_message
from tests.web.api.conftest import Api, Tenant, assert_error

OFFICE = {
    "timezone": "Europe/Berlin",
    "weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "fri": [["09:00", "15:00"]]},
    "holidays": ["2026-12-25"],
}


def policy_rows(runtime: Runtime) -> list[tuple[Any, ...]]:
    with runtime.db.read() as s:
        return [
            (p.id, p.workspace_id, p.name, p.position, p.first_response_minutes, p.enabled)
            for p in s.scalars(select(SlaPolicy).order_by(SlaPolicy.id))
        ]


def stored_hours(runtime: Runtime, workspace_id: int) -> Any:
    with runtime.db.read() as s:
        workspace = s.get(Workspace, workspace_id)
        assert workspace is not None
        return workspace.settings.get("business_hours")


def test_policy_crud_and_order(api: Api, tenant_a: Tenant) -> None:
    created = api.post(
        "/sla-policies",
        json={"name": "Everyone", "first_response_minutes": 240, "resolution_minutes": 2880},
    )
    assert created.status_code == 201, created.text
    everyone = created.json()
    assert everyone["position"] == 0 and everyone["business_hours"] is True
    assert everyone["warn_at_percent"] == 80 and everyone["priority"] is None
    urgent = api.post(
        "/sla-policies",
        json={
            "name": "Urgent billing",
            "priority": "urgent",
            "team_id": tenant_a.team_id,
            "first_response_minutes": 15,
            "business_hours": False,
            "warn_at_percent": 50,
        },
    ).json()
    assert urgent["position"] == 1 and urgent["team_id"] == tenant_a.team_id
    listed = api.get("/sla-policies").json()
    assert [p["name"] for p in listed["data"]] == ["Everyone", "Urgent billing"]
    reordered = api.post("/sla-policies/reorder", json={"policy_ids": [urgent["id"]]}).json()
    assert [(p["name"], p["position"]) for p in reordered["data"]] == [
        ("Urgent billing", 0),
        ("Everyone", 1),
    ]
    changed = api.patch(
        f"/sla-policies/{everyone['id']}", json={"resolution_minutes": None, "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["resolution_minutes"] is None and changed.json()["enabled"] is False
    assert api.get(f"/sla-policies/{everyone['id']}").json()["first_response_minutes"] == 240
    page = api.get("/sla-policies", params={"limit": 1}).json()
    assert [p["name"] for p in page["data"]] == ["Urgent billing"]
    second = api.get("/sla-policies", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [p["name"] for p in second["data"]] == ["Everyone"] and second["next_cursor"] is None
    assert api.delete(f"/sla-policies/{urgent['id']}").status_code == 204
    assert_error(api.get(f"/sla-policies/{urgent['id']}"), 404, "not_found")
    assert [p["position"] for p in api.get("/sla-policies").json()["data"]] == [0]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "No target"}, None),
        ({"name": "x", "first_response_minutes": 0}, "first_response_minutes"),
        ({"name": "x", "first_response_minutes": "60"}, "first_response_minutes"),
        ({"name": "x", "first_response_minutes": 60.5}, "first_response_minutes"),
        ({"name": "x", "resolution_minutes": 527041}, "resolution_minutes"),
        ({"name": "x", "first_response_minutes": 60, "warn_at_percent": 100}, "warn_at_percent"),
        ({"name": "x", "first_response_minutes": 60, "priority": "asap"}, "priority"),
        ({"name": "x", "first_response_minutes": 60, "workspace_id": 2}, "workspace_id"),
        ({"name": "x", "first_response_minutes": 60, "position": 0}, "position"),
        ({"name": "   ", "first_response_minutes": 60}, "name"),
        ({"name": "x", "first_response_minutes": 60, "business_hours": "yes"}, "business_hours"),
    ],
)
def test_bad_policies_are_422_and_store_nothing(
    api: Api, runtime: Runtime, body: dict[str, Any], words: str | None
) -> None:
    error = assert_error(api.post("/sla-policies", json=body), 422, "invalid_input")
    if words:
        assert words in error["message"], error
    else:
        assert "target" in error["message"], error
    assert policy_rows(runtime) == []


def test_clearing_the_last_target_is_a_conflict(api: Api, runtime: Runtime) -> None:
    policy = api.post("/sla-policies", json={"name": "x", "first_response_minutes": 60}).json()
    before = policy_rows(runtime)
    error = assert_error(
        api.patch(f"/sla-policies/{policy['id']}", json={"first_response_minutes": None}),
        409,
        "conflict",
    )
    assert "target" in error["message"]
    assert policy_rows(runtime) == before


def test_another_workspaces_policies_and_teams_are_404(
    api: Api, client: Any, runtime: Runtime, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    other = Api(client, tenant_b)
    theirs = other.post("/sla-policies", json={"name": "B", "first_response_minutes": 5}).json()
    before = policy_rows(runtime)
    assert_error(api.get(f"/sla-policies/{theirs['id']}"), 404, "not_found")
    assert_error(
        api.patch(f"/sla-policies/{theirs['id']}", json={"name": "mine now"}), 404, "not_found"
    )
    assert_error(api.delete(f"/sla-policies/{theirs['id']}"), 404, "not_found")
    assert_error(
        api.post("/sla-policies/reorder", json={"policy_ids": [theirs["id"]]}), 404, "not_found"
    )
    assert_error(
        api.post(
            "/sla-policies",
            json={"name": "x", "first_response_minutes": 5, "team_id": tenant_b.team_id},
        ),
        404,
        "not_found",
    )
    assert api.get("/sla-policies").json()["data"] == []
    assert policy_rows(runtime) == before


def test_business_hours_round_trip(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    default = api.get("/business-hours").json()
    assert default["configured"] is False and default["timezone"] == "UTC"
    assert default["open_now"] is True
    saved = api.put("/business-hours", json=OFFICE)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["configured"] is True
    assert body["weekly"] == OFFICE["weekly"] and body["holidays"] == ["2026-12-25"]
    assert api.get("/business-hours").json()["weekly"] == OFFICE["weekly"]
    assert stored_hours(runtime, tenant_a.workspace_id)["timezone"] == "Europe/Berlin"
    assert api.delete("/business-hours").status_code == 204
    assert api.get("/business-hours").json()["configured"] is False
    assert stored_hours(runtime, tenant_a.workspace_id) is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"weekly": {"mon": [["25:00", "26:00"]]}}, "weekly.mon"),
        ({"weekly": {"mon": [["17:00", "09:00"]]}}, "ends before it starts"),
        ({"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "overlap"),
        ({"weekly": {"mon": [["09:00"]]}}, "weekly.mon"),
        ({"weekly": {"monday": [["09:00", "17:00"]]}}, "monday"),
        ({"weekly": {}}, "weekly"),
        ({"holidays": ["2026-02-30"]}, "holidays"),
        ({"holidays": ["tomorrow"]}, "holidays"),
        ({"workspace_id": 2}, "workspace_id"),
    ],
)
def test_bad_business_hours_are_422_and_keep_the_old_ones(
    api: Api, runtime: Runtime, tenant_a: Tenant, change: dict[str, Any], words: str
) -> None:
    assert api.put("/business-hours", json=OFFICE).status_code == 200
    before = stored_hours(runtime, tenant_a.workspace_id)
    error = assert_error(api.put("/business-hours", json={**OFFICE, **change}), 422)
    assert words in error["message"] or any(words in str(d) for d in error["details"]), error
    assert stored_hours(runtime, tenant_a.workspace_id) == before


def _conversation_with_priority(runtime: Runtime, workspace_id: int, priority: str) -> int:
    with runtime.db.write() as s:
        workspace = s.get(Workspace, workspace_id)
        assert workspace is not None
        customer = make_customer(s, workspace)
        conversation_id = make_message(s, workspace, customer, "Help").conversation_id
        conversation = s.get(Conversation, conversation_id)
        assert conversation is not None
        do_change_priority(s, conversation, priority, actor=SYSTEM)
        return conversation_id


def test_clocks_are_listed_by_time_left(
    api: Api, client: Any, runtime: Runtime, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    for name, priority, minutes in (("Urgent", "urgent", 15), ("High", "high", 60)):
        api.post(
            "/sla-policies",
            json={
                "name": name,
                "priority": priority,
                "first_response_minutes": minutes,
                "business_hours": False,
            },
        )
    api.post(
        "/sla-policies",
        json={"name": "Any", "first_response_minutes": 240, "business_hours": False},
    )
    # tenant_a's own conversation predates the policies: no clock until it changes
    high = _conversation_with_priority(runtime, tenant_a.workspace_id, "high")
    normal = _conversation_with_priority(runtime, tenant_a.workspace_id, "normal")
    urgent = _conversation_with_priority(runtime, tenant_a.workspace_id, "urgent")
    low = _conversation_with_priority(runtime, tenant_a.workspace_id, "low")
    Api(client, tenant_b).post(
        "/sla-policies", json={"name": "B", "first_response_minutes": 1, "business_hours": False}
    )
    _conversation_with_priority(runtime, tenant_b.workspace_id, "urgent")  # due first, not ours
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/sla-clocks", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [c["conversation_id"] for c in body["data"]]
        assert all(
            c["status"] == "running" and c["target"] == "first_response" for c in body["data"]
        )
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # low and normal share the 240-minute target: the older one is due first
    assert seen == [urgent, high, normal, low]
    first = api.get("/sla-clocks", params={"conversation_id": urgent}).json()["data"][0]
    assert first["budget_seconds"] == 900 and 0 < first["remaining_seconds"] <= 900
    theirs = api.get("/sla-clocks", params={"conversation_id": tenant_b.conversation_id})
    assert theirs.json()["data"] == []
    assert_error(api.get("/sla-clocks", params={"status": "late"}), 422)
    assert_error(api.get("/sla-clocks", params={"cursor": "forged.cursor"}), 422)


def test_conversations_list_sorts_by_time_left(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    for name, priority, minutes in (("Urgent", "urgent", 15), ("High", "high", 60)):
        api.post(
            "/sla-policies",
            json={
                "name": name,
                "priority": priority,
                "first_response_minutes": minutes,
                "business_hours": False,
            },
        )
    api.post(
        "/sla-policies",
        json={"name": "Any", "first_response_minutes": 240, "business_hours": False},
    )
    high = _conversation_with_priority(runtime, tenant_a.workspace_id, "high")
    normal = _conversation_with_priority(runtime, tenant_a.workspace_id, "normal")
    urgent = _conversation_with_priority(runtime, tenant_a.workspace_id, "urgent")
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "sla", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/conversations", params=params).json()
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # the tenant's first conversation predates the policies: no deadline, last
    assert [c["id"] for c in seen] == [urgent, high, normal, tenant_a.conversation_id]
    assert seen[0]["sla_due_at"] is not None and seen[-1]["sla_due_at"] is None
    newest = api.get("/conversations").json()["data"]
    assert [c["id"] for c in newest] == [urgent, normal, high, tenant_a.conversation_id]
    first_page = api.get("/conversations", params={"limit": 1}).json()["next_cursor"]
    assert_error(api.get("/conversations", params={"sort": "sla", "cursor": first_page}), 422)
    assert_error(api.get("/conversations", params={"sort": "soonest"}), 422)

"""GET/PUT /api/v1/policy (tenancy, 422s) and the admin page (admins only, CSRF)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from frontdesk.guardrails.policy import default_policy, load_policy
from frontdesk.runtime import Runtime
from frontdesk.store.models import Workspace
from tests.factories import make_api_token
from tests.web.agent.helpers import login_as, setup_workspace


def _token(runtime: Runtime, workspace_id: int) -> dict[str, str]:
    with runtime.db.write() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        return {"Authorization": f"Bearer {make_api_token(session, workspace)}"}


def _stored(runtime: Runtime, workspace_id: int) -> dict[str, Any]:
    with runtime.db.read() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        return load_policy(workspace).model_dump(mode="json")


CUSTOM = {
    "name": "Enterprise",
    "conditions": [{"attribute": "company_type", "operator": "equals", "value": "business"}],
    "team": "sales",
    "priority": "high",
}


def test_api_get_put_and_tenancy(client: TestClient, runtime: Runtime) -> None:
    a = setup_workspace(runtime, "Acme")
    b = setup_workspace(runtime, "Globex")
    token_a, token_b = _token(runtime, a.workspace.id), _token(runtime, b.workspace.id)
    assert client.get("/api/v1/policy").status_code == 401
    got = client.get("/api/v1/policy", headers=token_a)
    assert got.status_code == 200
    assert got.json() == default_policy().model_dump(mode="json")

    body = {**got.json(), "custom": [CUSTOM]}
    body["customer"]["new_customer_days"] = 30
    put = client.put("/api/v1/policy", json=body, headers=token_a)
    assert put.status_code == 200, put.text
    assert put.json()["custom"][0]["name"] == "Enterprise"
    assert _stored(runtime, a.workspace.id)["customer"]["new_customer_days"] == 30

    # B's token sees and changes only B's policy.
    assert client.get("/api/v1/policy", headers=token_b).json()["custom"] == []
    assert client.put("/api/v1/policy", json={}, headers=token_b).status_code == 200
    assert _stored(runtime, a.workspace.id)["custom"][0]["name"] == "Enterprise"
    assert _stored(runtime, b.workspace.id) == default_policy().model_dump(mode="json")


def test_api_rejects_bad_definitions(client: TestClient, runtime: Runtime) -> None:
    a = setup_workspace(runtime)
    token = _token(runtime, a.workspace.id)
    bad = [
        {"pricing": {"priority": "asap"}},
        {"workspace_id": 7},
        {
            "custom": [
                {
                    **CUSTOM,
                    "conditions": [
                        {"attribute": "spend", "operator": "greater_than", "value": "x"}
                    ],
                }
            ]
        },
        {"custom": [{**CUSTOM, "conditions": [{"attribute": "plan", "operator": "= 1 OR 1=1"}]}]},
    ]
    for body in bad:
        response = client.put("/api/v1/policy", json=body, headers=token)
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert error["code"] == "invalid_input" and error["details"]
    as_json = {**token, "Content-Type": "application/json"}
    surrogate = b'{"pricing": {"keywords": {"en": ["\\ud800"]}}}'
    for raw in (b"{", surrogate):
        assert client.put("/api/v1/policy", content=raw, headers=as_json).status_code == 422
    assert _stored(runtime, a.workspace.id) == default_policy().model_dump(mode="json")


def _form(csrf: str, **fields: str) -> dict[str, str]:
    base = {"csrf_token": csrf}
    for name in (
        "safety",
        "frustration",
        "human_request",
        "cancellation",
        "plan_change",
        "pricing",
    ):
        base[f"{name}.enabled"] = "on"
        base[f"{name}.builtin"] = "on"
    base.update(
        {"customer.enabled": "on", "customer.vip": "on", "customer.new_customer_days": "14"}
    )
    base.update(fields)
    return base


def test_admin_page_edits_the_policy(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    page = client.get("/admin/policy")
    assert page.status_code == 200
    assert "Pricing and quotes" in page.text and 'href="/admin/policy"' in page.text
    assert "sales" in page.text  # default teams that do not exist yet are flagged

    saved = client.post(
        "/admin/policy",
        data=_form(
            csrf,
            **{
                "pricing.enabled": "",
                "pricing.keywords.th": "ค่าแรง\nส่วนลดพิเศษ",
                "pricing.team": "sales",
                "customer.new_customer_days": "30",
            },
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    policy = _stored(runtime, s.workspace.id)
    assert policy["pricing"]["enabled"] is False
    assert policy["pricing"]["keywords"] == {"th": ["ค่าแรง", "ส่วนลดพิเศษ"]}
    assert policy["customer"]["new_customer_days"] == 30
    assert policy["customer"]["trial"] is False  # unticked

    added = client.post(
        "/admin/policy/custom",
        data={
            "csrf_token": csrf,
            "name": "Big spenders",
            "match": "all",
            "condition.0.attribute": "spend",
            "condition.0.operator": "greater_than",
            "condition.0.value": "20000",
            "condition.1.attribute": "plan",
            "condition.1.operator": "in",
            "condition.1.value": "plus, pro",
            "team": "sales",
            "priority": "high",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    custom = _stored(runtime, s.workspace.id)["custom"]
    assert custom[0]["conditions"] == [
        {"attribute": "spend", "operator": "greater_than", "value": 20000},
        {"attribute": "plan", "operator": "in", "value": ["plus", "pro"]},
    ]
    assert "Big spenders" in client.get("/admin/policy").text

    bad = client.post(
        "/admin/policy",
        data=_form(csrf, **{"customer.new_customer_days": "soon", "pricing.team": "Sales!"}),
    )
    assert bad.status_code == 422
    assert "not saved" in bad.text and "new_customer_days" in bad.text
    assert _stored(runtime, s.workspace.id)["customer"]["new_customer_days"] == 30

    toggled = client.post(
        "/admin/policy/custom/0/toggle", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert toggled.status_code == 303
    assert _stored(runtime, s.workspace.id)["custom"][0]["enabled"] is False
    assert (
        client.post("/admin/policy/custom/5/delete", data={"csrf_token": csrf}).status_code == 404
    )
    client.post("/admin/policy/custom/0/delete", data={"csrf_token": csrf})
    assert _stored(runtime, s.workspace.id)["custom"] == []
    client.post("/admin/policy/reset", data={"csrf_token": csrf})
    assert _stored(runtime, s.workspace.id) == default_policy().model_dump(mode="json")


def test_admin_page_needs_csrf_and_an_admin(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    for data in ({}, {"csrf_token": "wrong"}):
        response = client.post(
            "/admin/policy", data={**_form(csrf), **data, "csrf_token": data.get("csrf_token", "")}
        )
        assert response.status_code == 403
    assert client.post("/admin/policy/reset", data={}).status_code == 403
    assert _stored(runtime, s.workspace.id) == default_policy().model_dump(mode="json")

    agent_csrf = login_as(client, runtime, s.agent)
    assert client.get("/admin/policy").status_code == 403
    response = client.post("/admin/policy", data=_form(agent_csrf, **{"pricing.enabled": ""}))
    assert response.status_code == 403
    assert _stored(runtime, s.workspace.id)["pricing"]["enabled"] is True


def test_inbox_shows_why_the_bot_stayed_silent(client: TestClient, runtime: Runtime) -> None:
    from frontdesk.inbound import InboundMessage, receive
    from tests.factories import make_customer

    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        workspace = session.get(Workspace, s.workspace.id)
        assert workspace is not None
        customer_id = make_customer(session, workspace).id
    result = receive(
        runtime.db,
        InboundMessage(
            workspace_id=s.workspace.id,
            channel="chat",
            customer_id=customer_id,
            text="Can you send me a quote for 20 panels?",
        ),
    )
    login_as(client, runtime, s.agent)
    page = client.get(f"/inbox/c/{result.conversation_id}")
    assert page.status_code == 200
    assert "Bot stayed silent: policy pricing (rule pricing: quote)" in page.text

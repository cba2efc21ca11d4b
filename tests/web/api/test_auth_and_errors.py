"""Bearer tokens, the one error shape, malformed and oversized bodies, and the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from frontdesk.accounts.actions import revoke_api_token
from frontdesk.runtime import Runtime
from frontdesk.store.models import ApiToken, Workspace
from tests.web.api.conftest import Api, Tenant, assert_error, snapshot

ENDPOINTS = [
    ("GET", "/api/v1/conversations"),
    ("POST", "/api/v1/conversations"),
    ("GET", "/api/v1/conversations/1"),
    ("PATCH", "/api/v1/conversations/1"),
    ("GET", "/api/v1/conversations/1/events"),
    ("GET", "/api/v1/conversations/1/messages"),
    ("POST", "/api/v1/conversations/1/messages"),
    ("GET", "/api/v1/customers"),
    ("POST", "/api/v1/customers"),
    ("PATCH", "/api/v1/customers/1"),
    ("GET", "/api/v1/teams"),
    ("DELETE", "/api/v1/teams/1"),
    ("PUT", "/api/v1/teams/1/members"),
    ("GET", "/api/v1/agents"),
    ("PATCH", "/api/v1/agents/1"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/workspace"),
    ("PATCH", "/api/v1/workspace"),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer fd_unknown", "Basic dXNlcjpwYXNz", "fd_no_scheme"],
)
def test_missing_or_invalid_token_is_401(
    client: TestClient, runtime: Runtime, tenant_a: Tenant, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    before = snapshot(runtime)
    for method, path in ENDPOINTS:
        response = client.request(method, path, headers=headers, json={"name": "x"})
        assert_error(response, 401, "unauthorized")
    assert snapshot(runtime) == before


def test_revoked_token_is_401(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    assert api.get("/workspace").status_code == 200
    with runtime.db.write() as s:
        workspace = s.get(Workspace, tenant_a.workspace_id)
        assert workspace is not None
        token = s.query(ApiToken).filter_by(workspace_id=workspace.id).one()
        revoke_api_token(s, workspace, token.id)
    error = assert_error(api.get("/workspace"), 401, "unauthorized")
    assert "revoked" in error["message"]


def test_malformed_json_is_422_in_the_one_shape(
    api: Api, runtime: Runtime, tenant_a: Tenant
) -> None:
    before = snapshot(runtime)
    for path in (
        "/conversations",
        f"/conversations/{tenant_a.conversation_id}/messages",
        "/customers",
    ):
        response = api.client.post(
            f"/api/v1{path}",
            content=b'{"body": "unfinished',
            headers={**api.headers, "Content-Type": "application/json"},
        )
        error = assert_error(response, 422, "invalid_input")
        assert error["message"] == "The request body is not valid JSON."
    response = api.client.patch(
        f"/api/v1/conversations/{tenant_a.conversation_id}",
        content=b"[1, 2",
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 422, "invalid_input")
    assert snapshot(runtime) == before


def test_invalid_utf8_is_refused(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    before = snapshot(runtime)
    response = api.client.post(
        "/api/v1/customers",
        content=b'{"name": "\xff\xfe"}',
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)
    assert snapshot(runtime) == before


def test_oversized_body_is_413(api: Api, runtime: Runtime, tenant_a: Tenant) -> None:
    before = snapshot(runtime)
    body = {
        "customer_id": tenant_a.customer_id,
        "body": "x" * (runtime.settings.max_body_bytes + 1),
    }
    error = assert_error(api.post("/conversations", json=body), 413, "too_large")
    assert str(runtime.settings.max_body_bytes) in error["message"]
    assert snapshot(runtime) == before


def test_lone_surrogates_and_nul_are_refused(api: Api, runtime: Runtime) -> None:
    before = snapshot(runtime)
    for raw in (
        b'{"name": "\\ud800"}',
        b'{"name": "a\\u0000b"}',
        b'{"attributes": {"plan": "\\udfff"}}',
    ):
        response = api.client.post(
            "/api/v1/customers",
            content=raw,
            headers={**api.headers, "Content-Type": "application/json"},
        )
        assert_error(response, 422, "invalid_input")
    assert snapshot(runtime) == before


def test_unknown_path_and_method(api: Api) -> None:
    assert_error(api.get("/nothing-here"), 404, "not_found")
    response = api.delete("/conversations")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


def test_openapi_document(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token of the workspace: fd_…",
    }
    api_paths = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/v1/")}
    assert {
        "/api/v1/conversations",
        "/api/v1/conversations/{conversation_id}",
        "/api/v1/conversations/{conversation_id}/events",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/teams",
        "/api/v1/teams/{team_id}",
        "/api/v1/teams/{team_id}/members",
        "/api/v1/agents",
        "/api/v1/agents/{agent_id}",
        "/api/v1/events",
        "/api/v1/workspace",
    } <= set(api_paths)
    for path, operations in api_paths.items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op["summary"] and op["tags"], where
            assert op["security"] == [{"HTTPBearer": []}], where
            assert "401" in op["responses"], where
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, where
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text

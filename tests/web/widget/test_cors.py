"""Which pages may use a workspace's widget: allowed origins, the server's own, preflight."""

from __future__ import annotations

from fastapi.testclient import TestClient

from frontdesk.runtime import Runtime
from tests.web.widget.site import SHOP, bearer, counts, make_site, start


def test_allowed_origin_gets_cors_headers_without_credentials(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, origins=(SHOP, "https://other.example"))
    response = client.post(f"{site.api}/session", json={}, headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]
    assert "set-cookie" not in response.headers


def test_errors_for_allowed_origins_are_readable_by_the_page(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    response = client.post(f"{site.api}/messages", json={}, headers={"Origin": SHOP})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == SHOP
    bad_json = client.post(
        f"{site.api}/session",
        content=b"{",
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 422
    assert bad_json.headers["access-control-allow-origin"] == SHOP


def test_other_origins_are_refused_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    for origin in ("https://evil.example", "https://shop.example.com.evil.example", "null"):
        response = client.post(f"{site.api}/session", json={}, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert response.json()["error"]["code"] == "forbidden"
        assert "allowed widget origins" in response.json()["error"]["message"]
        assert "access-control-allow-origin" not in response.headers
    assert counts(runtime)["customers"] == 0


def test_the_servers_own_origin_and_the_wildcard_are_allowed(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, origins=())
    own = client.post(f"{site.api}/session", json={}, headers={"Origin": "http://127.0.0.1"})
    assert own.status_code == 200
    assert client.post(f"{site.api}/session", json={}, headers={"Origin": SHOP}).status_code == 403
    anywhere = make_site(runtime, name="Open", origins=("*",))
    response = client.post(f"{anywhere.api}/session", json={}, headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP


def test_preflight_is_answered_for_allowed_origins_only(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = client.options(f"{site.api}/messages", headers={"Origin": SHOP, **asks})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    refused = client.options(
        f"{site.api}/messages", headers={"Origin": "https://evil.example", **asks}
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    unknown = client.options("/widget/v1/nope/session", headers={"Origin": SHOP, **asks})
    assert unknown.status_code == 404


def test_requests_without_origin_pass_on_their_token(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    session = start(client, site)
    response = client.get(f"{site.api}/conversations/1/messages", headers=bearer(session))
    assert response.status_code == 404
    assert "access-control-allow-origin" not in response.headers


def test_widget_routes_stay_out_of_the_rest_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/widget")]

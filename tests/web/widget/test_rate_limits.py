"""Public widget endpoints are rate-limited per visitor and per IP address (small limits here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.web.widget.site import SHOP, bearer, counts, make_site, new_client_id, post, start

pytestmark = pytest.mark.usefixtures("one_rate_window")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        rate_widget_per_minute=3,
        rate_widget_ip_per_minute=8,
        rate_widget_sessions_per_hour=2,
    )


def test_new_anonymous_visitors_per_ip_are_limited(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    first = start(client, site)
    start(client, site)
    flood = client.post(f"{site.api}/session", json={}, headers={"Origin": SHOP})
    assert flood.status_code == 429
    assert flood.json()["error"]["code"] == "rate_limited"
    assert int(flood.headers["retry-after"]) > 0
    assert flood.headers["access-control-allow-origin"] == SHOP  # the page can read why
    assert counts(runtime)["customers"] == 2
    # A returning visitor is not a new one.
    assert (
        start(client, site, visitor_token=first["visitor_token"])["customer"]["id"]
        == (first["customer"]["id"])
    )


def test_messages_per_visitor_are_limited_over_http(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    session = start(client, site)
    statuses = [post(client, site, session, f"message {i}").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert counts(runtime)["messages"] == 3
    # Another visitor (same IP, under its limit) still gets through.
    other = start(client, site)
    assert post(client, site, other, "me too").status_code == 200


def test_messages_per_visitor_are_limited_over_the_socket(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    session = start(client, site)
    with client.websocket_connect(f"{site.api}/ws?token={session['session_token']}") as ws:
        results = []
        for i in range(4):
            client_id = new_client_id()
            ws.send_json({"type": "send", "client_id": client_id, "text": f"m{i}"})
            while True:
                frame = ws.receive_json()
                if frame.get("client_id") == client_id:
                    results.append(frame)
                    break
        assert [f["type"] for f in results] == ["ack", "ack", "ack", "error"]
        assert results[-1]["code"] == "rate_limited" and results[-1]["retry_after"] > 0
    assert counts(runtime)["messages"] == 3


def test_requests_per_ip_are_limited(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    session = start(client, site)  # 1 request from this IP
    url = f"{site.api}/conversations/1/messages"
    statuses = [client.get(url, headers=bearer(session)).status_code for _ in range(8)]
    # Each GET counts for the IP and for the visitor (3 a minute): 404 until the visitor's limit.
    assert statuses[:3] == [404, 404, 404]
    assert set(statuses[3:]) == {429}
    # The IP limit (8 a minute) is reached now, for everyone on this address.
    refused = client.post(f"{site.api}/session", json={})
    assert refused.status_code == 429
    assert "chat requests from this address" in refused.json()["error"]["message"]

from __future__ import annotations

import base64

import pytest

from frontdesk.runtime import Runtime
from frontdesk.store.models import Customer, Workspace
from tests.factories import make_agent, make_customer, make_message, make_team
from tests.web.api.conftest import Api, Tenant, assert_error


@pytest.fixture
def many(runtime: Runtime, tenant_a: Tenant) -> None:
    """Enough of everything for several pages of 5."""
    with runtime.db.write() as s:
        ws = s.get(Workspace, tenant_a.workspace_id)
        assert ws is not None
        for i in range(11):
            customer = make_customer(s, ws, name=f"C{i}")
            first = make_message(s, ws, customer, f"Question {i}")
            make_message(s, ws, customer, "more", conversation_id=first.conversation_id)
            make_team(s, ws, f"Team {i}")
        for _ in range(6):
            make_agent(s, ws, online=False)
        own = s.get(Customer, tenant_a.customer_id)
        assert own is not None
        for i in range(11):
            make_message(s, ws, own, f"m{i}", conversation_id=tenant_a.conversation_id)


LISTS = [
    "/conversations",
    "/customers",
    "/teams",
    "/agents",
    "/events",
    "/conversations/{cid}/messages",
    "/conversations/{cid}/events",
]


def walk(api: Api, path: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= limit
        seen += [item["id"] for item in body["data"]]
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 100
        if cursor is None:
            return seen


@pytest.mark.parametrize("path", LISTS)
def test_walk_every_item_exactly_once(api: Api, tenant_a: Tenant, many: None, path: str) -> None:
    path = path.format(cid=tenant_a.conversation_id)
    everything = api.get(path, params={"limit": 100}).json()
    assert everything["next_cursor"] is None and len(everything["data"]) > 5
    expected = [item["id"] for item in everything["data"]]
    for limit in (1, 5, len(expected)):
        walked = walk(api, path, limit)
        assert walked == expected
        assert len(set(walked)) == len(walked)


def test_exact_page_boundary_has_no_empty_last_page(api: Api) -> None:
    # A, with one conversation: a page of 1 holds it all.
    body = api.get("/conversations", params={"limit": 1}).json()
    assert len(body["data"]) == 1 and body["next_cursor"] is None


def test_default_and_bounds_of_limit(api: Api, tenant_a: Tenant, many: None) -> None:
    assert len(api.get("/conversations").json()["data"]) == 12  # fewer than the default 25
    assert len(api.get("/events").json()["data"]) == 25
    for bad in ("0", "101", "-1", "ten", "1.5"):
        assert_error(api.get("/events", params={"limit": bad}), 422, "invalid_input")


def test_tampered_cursors_are_422(api: Api, tenant_a: Tenant, many: None) -> None:
    cursor = api.get("/customers", params={"limit": 2}).json()["next_cursor"]
    payload, mac = cursor.split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    scope, _, position = decoded.partition(":")
    forged = base64.urlsafe_b64encode(f"{scope}:{int(position) + 5}".encode()).decode().rstrip("=")
    for bad in (
        f"{forged}.{mac}",  # another position under the old signature
        cursor[:-2],  # truncated
        cursor + "x",
        "not-a-cursor",
        "...",
        "' OR 1=1 --",
        base64.urlsafe_b64encode(b"customers:1").decode(),  # unsigned
    ):
        error = assert_error(api.get("/customers", params={"cursor": bad}), 422, "invalid_input")
        assert "cursor" in error["message"]
    # A good cursor of one list is refused by another.
    error = assert_error(api.get("/teams", params={"cursor": cursor}), 422, "invalid_input")
    assert "another list" in error["message"]
    assert api.get("/customers", params={"cursor": cursor}).status_code == 200

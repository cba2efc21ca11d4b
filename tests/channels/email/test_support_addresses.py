"""Support addresses (the rules, the REST API, Admin → Email) and the mail log's API and page:
the failed list and Reprocess, per workspace."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.channels.email.ingest import accept_mail
from frontdesk.channels.email.support import (
    create_support_address,
    delete_support_address,
    list_support_addresses,
    resolve_target,
    update_support_address,
)
from frontdesk.errors import Conflict, InvalidInput
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import InboundMail, SupportAddress
from tests.channels.email.conftest import email
from tests.factories import make_api_token, make_workspace
from tests.web.agent.helpers import login_as, setup_workspace


@pytest.fixture
def two_workspaces(runtime: Runtime) -> tuple[int, int]:
    install(runtime)
    with runtime.db.write() as session:
        return make_workspace(session, "Acme").id, make_workspace(session, "Globex").id


def _token(runtime: Runtime, workspace_id: int) -> dict[str, str]:
    from frontdesk.store.models import Workspace

    with runtime.db.write() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        return {"Authorization": f"Bearer {make_api_token(session, workspace)}"}


# --------------------------------------------------------------------------- the rules


def test_addresses_are_lowercased_unique_and_one_is_default(
    runtime: Runtime, two_workspaces: tuple[int, int]
) -> None:
    acme, globex = two_workspaces
    with runtime.db.write() as session:
        first = create_support_address(session, acme, "  Support@Acme.Example ", name="Acme")
        second = create_support_address(session, acme, "billing@acme.example")
        assert (first.address, first.is_default, second.is_default) == (
            "support@acme.example",
            True,
            False,
        )
        with pytest.raises(Conflict, match="already a support address"):
            create_support_address(session, globex, "SUPPORT@acme.example")
        update_support_address(session, second, is_default=True)
        assert [a.address for a in list_support_addresses(session, acme)] == [
            "billing@acme.example",
            "support@acme.example",
        ]
        with pytest.raises(Conflict, match="make another address the default"):
            update_support_address(session, second, is_default=False)
        delete_support_address(session, second)
        [left] = list_support_addresses(session, acme)
        assert left.address == "support@acme.example" and left.is_default


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("not an address", "not an email address"),
        ("Ana <ana@acme.example>", "not an email address"),
        ("support+sales@acme.example", r"may not contain '\+'"),
        ("a@" + "b" * 300 + ".example", "not an email address"),
        ("", "not an email address"),
    ],
)
def test_bad_addresses_are_refused(
    runtime: Runtime, two_workspaces: tuple[int, int], address: str, message: str
) -> None:
    with runtime.db.write() as session, pytest.raises(InvalidInput, match=message):
        create_support_address(session, two_workspaces[0], address)


def test_resolve_target_reads_tags_and_prefers_the_envelope(
    runtime: Runtime, two_workspaces: tuple[int, int]
) -> None:
    from frontdesk.channels.email.addresses import reply_address

    acme, globex = two_workspaces
    with runtime.db.write() as session:
        create_support_address(session, acme, "support@acme.example")
        create_support_address(session, globex, "help@globex.example")
    secret = "s3cret"
    tagged = reply_address("support@acme.example", 42, secret)
    with runtime.db.read() as session:
        target = resolve_target(session, ["stranger@example.org", tagged], secret)
        assert target is not None
        assert (target.workspace_id, target.tagged_conversation_id) == (acme, 42)
        forged = resolve_target(session, ["support+c42-aaaaaaaaaa@acme.example"], secret)
        assert forged is not None and forged.tagged_conversation_id is None and forged.forged_tag
        first = resolve_target(session, ["help@globex.example", "support@acme.example"], secret)
        assert first is not None and first.workspace_id == globex
        only = resolve_target(
            session, ["help@globex.example", "support@acme.example"], secret, workspace_id=acme
        )
        assert only is not None and only.workspace_id == acme
        assert resolve_target(session, ["nobody@example.org", ""], secret) is None


# --------------------------------------------------------------------------- the REST API


def test_support_address_api(
    client: TestClient, runtime: Runtime, two_workspaces: tuple[int, int]
) -> None:
    acme, globex = two_workspaces
    headers = _token(runtime, acme)
    created = client.post(
        "/api/v1/support-addresses",
        json={"address": "Support@Acme.Example", "name": "Acme Support"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["address"], body["name"], body["is_default"]) == (
        "support@acme.example",
        "Acme Support",
        True,
    )
    second = client.post(
        "/api/v1/support-addresses", json={"address": "sales@acme.example"}, headers=headers
    ).json()
    assert second["is_default"] is False

    listed = client.get("/api/v1/support-addresses?limit=1", headers=headers).json()
    assert [a["address"] for a in listed["data"]] == ["support@acme.example"]
    rest = client.get(
        f"/api/v1/support-addresses?cursor={listed['next_cursor']}", headers=headers
    ).json()
    assert [a["address"] for a in rest["data"]] == ["sales@acme.example"]

    made_default = client.patch(
        f"/api/v1/support-addresses/{second['id']}", json={"is_default": True}, headers=headers
    )
    assert made_default.status_code == 200 and made_default.json()["is_default"] is True
    assert (
        client.get(f"/api/v1/support-addresses/{body['id']}", headers=headers).json()["is_default"]
        is False
    )

    # refused, each with its reason
    assert (
        client.post(
            "/api/v1/support-addresses", json={"address": "sales@acme.example"}, headers=headers
        ).status_code
        == 409
    )
    for bad in (
        {"address": "a+b@acme.example"},
        {"address": "nope"},
        {"address": "x@acme.example", "workspace_id": globex},
        {"address": "x@acme.example", "name": "<script>"},
        {"address": "x@acme.example", "is_default": "yes"},
    ):
        refused = client.post("/api/v1/support-addresses", json=bad, headers=headers)
        assert refused.status_code == 422, (bad, refused.text)
    patch_false = client.patch(
        f"/api/v1/support-addresses/{second['id']}", json={"is_default": False}, headers=headers
    )
    assert patch_false.status_code == 422

    # another workspace sees none of it
    other = _token(runtime, globex)
    assert client.get("/api/v1/support-addresses", headers=other).json()["data"] == []
    for method in ("get", "delete"):
        response = getattr(client, method)(f"/api/v1/support-addresses/{body['id']}", headers=other)
        assert response.status_code == 404
    assert (
        client.patch(
            f"/api/v1/support-addresses/{body['id']}", json={"name": "x"}, headers=other
        ).status_code
        == 404
    )

    assert (
        client.delete(f"/api/v1/support-addresses/{second['id']}", headers=headers).status_code
        == 204
    )
    [left] = client.get("/api/v1/support-addresses", headers=headers).json()["data"]
    assert left["address"] == "support@acme.example" and left["is_default"] is True
    assert client.get("/api/v1/support-addresses").status_code == 401


def test_inbound_mail_api_lists_and_reprocesses_failed_mail(
    client: TestClient, runtime: Runtime, two_workspaces: tuple[int, int]
) -> None:
    acme, globex = two_workspaces
    with runtime.db.write() as session:
        create_support_address(session, acme, "support@acme.example")
    headers = _token(runtime, acme)
    good = accept_mail(
        runtime.db,
        source="smtp",
        envelope_from="carla@example.net",
        envelope_to=["support@acme.example"],
        raw=email(subject="Fine").as_bytes(),
    )
    bad = accept_mail(
        runtime.db,
        source="smtp",
        envelope_from="carla@example.net",
        envelope_to=["support@acme.example"],
        raw=b"\x00 no headers at all",
    )
    failed = client.get("/api/v1/inbound-mails?status=failed", headers=headers).json()["data"]
    assert [m["id"] for m in failed] == [bad.id]
    assert failed[0]["reason"].startswith("unparseable:")
    everything = client.get("/api/v1/inbound-mails?limit=1", headers=headers).json()
    assert [m["id"] for m in everything["data"]] == [bad.id]  # newest first
    older = client.get(
        f"/api/v1/inbound-mails?limit=1&cursor={everything['next_cursor']}", headers=headers
    ).json()
    assert [(m["id"], m["status"], m["subject"]) for m in older["data"]] == [
        (good.id, "stored", "Fine")
    ]
    one = client.get(f"/api/v1/inbound-mails/{good.id}", headers=headers).json()
    assert one["conversation_id"] is not None and one["envelope_to"] == ["support@acme.example"]

    conflict = client.post(f"/api/v1/inbound-mails/{good.id}/reprocess", headers=headers)
    assert conflict.status_code == 409
    again = client.post(f"/api/v1/inbound-mails/{bad.id}/reprocess", headers=headers)
    assert again.status_code == 202 and again.json()["status"] == "pending"
    after = client.get(f"/api/v1/inbound-mails/{bad.id}", headers=headers).json()
    assert after["status"] == "failed" and after["attempts"] == 1  # processed again: still junk

    other = _token(runtime, globex)
    assert client.get("/api/v1/inbound-mails", headers=other).json()["data"] == []
    assert client.get(f"/api/v1/inbound-mails/{bad.id}", headers=other).status_code == 404
    assert (
        client.post(f"/api/v1/inbound-mails/{bad.id}/reprocess", headers=other).status_code == 404
    )
    assert client.get("/api/v1/inbound-mails?status=lost", headers=headers).status_code == 422


# --------------------------------------------------------------------------- Admin → Email


def test_admin_email_page(client: TestClient, runtime: Runtime) -> None:
    install(runtime)
    setup = setup_workspace(runtime)
    csrf = login_as(client, runtime, setup.admin)
    page = client.get("/admin/email")
    assert page.status_code == 200 and "No support address yet" in page.text

    added = client.post(
        "/admin/email/addresses",
        data={"csrf_token": csrf, "address": "Help@Acme.Example", "name": "Acme Help"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get("/admin/email?done=added")
    assert "help@acme.example" in page.text and "Support address added" in page.text

    refused = client.post(
        "/admin/email/addresses",
        data={"csrf_token": csrf, "address": "help+x@acme.example", "name": ""},
    )
    assert refused.status_code == 422 and "may not contain" in refused.text
    assert 'value="help+x@acme.example"' in refused.text  # what was typed stays
    no_csrf = client.post("/admin/email/addresses", data={"address": "a@acme.example"})
    assert no_csrf.status_code == 403

    mail = accept_mail(
        runtime.db,
        source="smtp",
        envelope_from="carla@example.net",
        envelope_to=["help@acme.example"],
        raw=b"<html>junk</html>",
        workspace_id=setup.workspace.id,
    )
    page = client.get("/admin/email")
    assert f'id="failed-{mail.id}"' in page.text and "unparseable" in page.text
    again = client.post(
        f"/admin/email/mails/{mail.id}/reprocess", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert again.status_code == 303
    with runtime.db.read() as session:
        row = session.get(InboundMail, mail.id)
        assert row is not None and row.attempts == 1 and row.status == "failed"

    with runtime.db.read() as session:
        address_id = session.scalar(select(SupportAddress.id))
    removed = client.post(
        f"/admin/email/addresses/{address_id}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert "No support address yet" in client.get("/admin/email").text


def test_admin_email_page_is_for_admins_of_this_workspace(
    client: TestClient, runtime: Runtime
) -> None:
    install(runtime)
    mine = setup_workspace(runtime, "Acme")
    theirs = setup_workspace(runtime, "Globex")
    with runtime.db.write() as session:
        their_address = create_support_address(session, theirs.workspace.id, "x@globex.example")
        their_id = their_address.id
    csrf = login_as(client, runtime, mine.agent)
    assert client.get("/admin/email").status_code == 403
    csrf = login_as(client, runtime, mine.admin)
    for path in (
        f"/admin/email/addresses/{their_id}/delete",
        f"/admin/email/addresses/{their_id}/default",
    ):
        assert client.post(path, data={"csrf_token": csrf}).status_code == 404
    with runtime.db.read() as session:
        assert session.get(SupportAddress, their_id) is not None

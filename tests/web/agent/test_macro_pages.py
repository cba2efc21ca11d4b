"""The macro pages (shared for admins, personal for everyone) and the reply box: the search
endpoint renders each macro for the conversation, and a reply sent with a macro applies its
actions in the same transaction."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from frontdesk.automation.macros import do_create_macro
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, Macro, Message, Survey
from tests.factories import make_customer, make_message, make_team
from tests.web.agent.helpers import Setup, login_as, setup_workspace


def form(csrf: str, **fields: str) -> dict[str, str]:
    values = {
        "csrf_token": csrf,
        "name": "Refund done",
        "body": 'Hi {{ customer.first_name | default("there") }}, refunded.',
        "language": "en",
        "scope": "shared",
        "tags": "",
        "status": "",
        "priority": "",
        "team": "",
    }
    values.update(fields)
    return values


def macros(runtime: Runtime) -> list[Macro]:
    with runtime.db.read() as s:
        return list(s.scalars(select(Macro).order_by(Macro.id)))


def conversation_for(runtime: Runtime, setup: Setup, name: str = "Jonas Weber") -> int:
    with runtime.db.write() as s:
        ws = s.merge(setup.workspace)
        customer = make_customer(s, ws, name=name, email="jonas@example.com", language="de")
        return make_message(s, ws, customer, "Geld zurück?").conversation_id


def test_admins_manage_shared_macros_agents_their_own(client: TestClient, runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    with runtime.db.write() as s:
        team = make_team(s, s.merge(setup.workspace), "Billing")
        team_id = team.id
    csrf = login_as(client, runtime, setup.admin)
    created = client.post(
        "/macros",
        data=form(
            csrf,
            tags="refund, Billing",
            status="resolved",
            team=str(team_id),
            **{"variant-de": "Hallo {{ customer.first_name }}, erstattet."},
        ),
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == "/macros?saved=1"
    (macro,) = macros(runtime)
    assert macro.owner_id is None
    assert macro.actions == {"tags": ["billing", "refund"], "status": "resolved", "team": team_id}
    assert macro.variants == {"de": "Hallo {{ customer.first_name }}, erstattet."}
    page = client.get("/macros")
    assert page.status_code == 200 and "Refund done" in page.text
    assert "add tags billing, refund; team Billing; status resolved" in page.text
    assert client.get(f"/macros/{macro.id}").status_code == 200

    # An agent sees the shared macro but cannot change it; their own is theirs alone.
    csrf = login_as(client, runtime, setup.agent)
    assert "Refund done" in client.get("/macros").text
    assert client.get(f"/macros/{macro.id}").status_code == 403
    assert client.post(f"/macros/{macro.id}", data=form(csrf, name="Mine now")).status_code == 403
    assert client.post(f"/macros/{macro.id}/delete", data={"csrf_token": csrf}).status_code == 403
    assert client.post("/macros", data=form(csrf, scope="shared")).status_code == 403
    mine = client.post(
        "/macros", data=form(csrf, name="My sign-off", body="Cheers", scope="personal")
    )
    assert mine.status_code == 200  # redirected to the list
    personal = macros(runtime)[-1]
    assert personal.owner_id == setup.agent.id and personal.name == "My sign-off"
    assert macros(runtime)[0].name == "Refund done"

    login_as(client, runtime, setup.admin)
    assert "My sign-off" not in client.get("/macros").text
    assert client.get(f"/macros/{personal.id}").status_code == 404


def test_a_body_that_does_not_check_is_shown_again_with_the_line(
    client: TestClient, runtime: Runtime
) -> None:
    setup = setup_workspace(runtime)
    csrf = login_as(client, runtime, setup.admin)
    body = "Hi\n{{ customer.frist_name }}"
    page = client.post("/macros", data=form(csrf, body=body, name="Broken <b>name</b>"))
    assert page.status_code == 422
    assert "line 2: unknown variable customer.frist_name" in page.text
    assert "Broken &lt;b&gt;name&lt;/b&gt;" in page.text  # what was typed, kept (as text)
    assert "{{ customer.frist_name }}" in page.text
    assert macros(runtime) == []
    page = client.post("/macros", data=form(csrf, body="{{ ''.__class__ }}"))
    assert page.status_code == 422 and "only variables can be printed" in page.text
    page = client.post("/macros", data={"name": "x", "body": "y"})  # no CSRF token
    assert page.status_code == 403
    assert macros(runtime) == []


def test_the_reply_box_search_renders_for_the_conversation(
    client: TestClient, runtime: Runtime
) -> None:
    setup = setup_workspace(runtime)
    other = setup_workspace(runtime, "Globex")
    cid = conversation_for(runtime, setup)
    foreign = conversation_for(runtime, other)
    with runtime.db.write() as s:
        do_create_macro(
            s,
            setup.workspace.id,
            name="Refund done",
            body="Hi {{ customer.first_name }}, refunded.",
            variants={"de": "Hallo {{ customer.first_name }}, erstattet."},
            actions={"status": "resolved"},
        )
        do_create_macro(
            s, setup.workspace.id, name="Admin's refund", body="x", owner_id=setup.admin.id
        )
        do_create_macro(s, other.workspace.id, name="Globex refund", body="y")
    login_as(client, runtime, setup.agent)
    found = client.get(f"/inbox/c/{cid}/macros", params={"q": "REFUND"})
    assert found.status_code == 200
    assert found.headers["cache-control"] == "no-store"
    (item,) = found.json()["macros"]  # not the admin's personal one, not Globex's
    assert item["text"] == "Hallo Jonas, erstattet." and item["language"] == "de"
    assert item["actions"] == ["status resolved"] and item["shared"] is True
    assert client.get(f"/inbox/c/{foreign}/macros", params={"q": "refund"}).status_code == 404
    assert client.get(f"/inbox/c/{cid}/macros", params={"q": "x" * 201}).status_code == 422
    client.cookies.clear()
    logged_out = client.get(f"/inbox/c/{cid}/macros", follow_redirects=False)
    assert logged_out.status_code == 303 and "/login" in logged_out.headers["location"]


def test_a_reply_with_a_macro_applies_its_actions(client: TestClient, runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    cid = conversation_for(runtime, setup)
    with runtime.db.write() as s:
        macro = do_create_macro(
            s,
            setup.workspace.id,
            name="Refund done",
            body="Hi",
            actions={"tags": ["refund"], "status": "resolved"},
        )
        theirs = do_create_macro(
            s, setup.workspace.id, name="Admin's", body="x", owner_id=setup.admin.id
        )
        macro_id, theirs_id = macro.id, theirs.id
    csrf = login_as(client, runtime, setup.agent)
    headers = {"X-Requested-With": "fetch", "X-CSRF-Token": csrf}

    def count() -> int:
        with runtime.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(Message)) or 0)

    before = count()
    refused = client.post(
        f"/inbox/c/{cid}/reply", data={"body": "x", "macro_id": str(theirs_id)}, headers=headers
    )
    assert refused.status_code == 404 and count() == before
    bad = client.post(
        f"/inbox/c/{cid}/reply", data={"body": "x", "macro_id": "1e3"}, headers=headers
    )
    assert bad.status_code == 422 and count() == before
    sent = client.post(
        f"/inbox/c/{cid}/reply",
        data={"body": "Hallo Jonas, erstattet. {{ 7*7 }}", "macro_id": str(macro_id)},
        headers=headers,
    )
    assert sent.status_code == 204
    with runtime.db.read() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        assert conversation.status == "resolved" and conversation.tags == ["refund"]
        reply = s.scalars(
            select(Message).where(Message.conversation_id == cid, Message.author_type == "agent")
        ).one()
        assert reply.body == "Hallo Jonas, erstattet. {{ 7*7 }}"  # as the agent sent it
        stored = s.get(Macro, macro_id)
        assert stored is not None and stored.uses == 1
        assert s.scalars(select(Survey)).one().resolved_by == "agent"
    # A macro with actions and an emptied reply box: only the actions.
    reopened = client.post(f"/inbox/c/{cid}/status", data={"status": "open"}, headers=headers)
    assert reopened.status_code == 204
    only = client.post(
        f"/inbox/c/{cid}/reply", data={"body": " ", "macro_id": str(macro_id)}, headers=headers
    )
    assert only.status_code == 204 and count() == before + 1
    # Without a macro an empty reply is still refused.
    empty: Any = client.post(f"/inbox/c/{cid}/reply", data={"body": " "}, headers=headers)
    assert empty.status_code == 422


def test_the_conversation_view_carries_the_picker(client: TestClient, runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    cid = conversation_for(runtime, setup)
    login_as(client, runtime, setup.agent)
    page = client.get(f"/inbox/c/{cid}")
    assert page.status_code == 200
    assert f'data-url="/inbox/c/{cid}/macros"' in page.text
    assert 'name="macro_id"' in page.text and "/static/macros.js" in page.text
    assert client.get("/static/macros.js").status_code == 200

"""The inbox pages: views, filters, conversation view, actions, tenancy and escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from frontdesk.accounts.actions import update_workspace
from frontdesk.conversations.actions import do_assign, do_hand_off, do_send_to_triage
from frontdesk.conversations.events import Actor
from frontdesk.knowledge.store import do_save_article
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, ConversationEvent, Message, Workspace
from tests.factories import make_agent, make_api_token, make_customer, make_message, make_team
from tests.web.agent.helpers import login_as, setup_workspace

XSS = '<img src=x onerror=alert(1)> <script>alert(2)</script> <a href="javascript:alert(3)">x</a>'


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation


def _ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-conversation="(\d+)"', html)}


@contextmanager
def count_queries(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", before)


def test_views_and_filters(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        colleague = make_agent(session, s.workspace)
        support = make_team(session, s.workspace, "Support", [s.agent])
        billing = make_team(session, s.workspace, "Billing", [colleague])
        ids: dict[str, int] = {}
        for key in ("mine", "team", "other_team", "unassigned", "triage", "resolved", "email"):
            customer = make_customer(session, s.workspace, name=f"Customer {key}")
            channel = "email" if key == "email" else "chat"
            ids[key] = make_message(session, s.workspace, customer, channel=channel).conversation_id
        conv = {k: _conversation(session, v) for k, v in ids.items()}
        actor = Actor("agent", s.admin.id)
        do_assign(session, conv["mine"], team_id=None, assignee_id=s.agent.id, actor=actor)
        do_assign(session, conv["team"], team_id=support.id, assignee_id=None, actor=actor)
        do_assign(
            session, conv["other_team"], team_id=billing.id, assignee_id=colleague.id, actor=actor
        )
        do_assign(session, conv["resolved"], team_id=None, assignee_id=s.agent.id, actor=actor)
        do_assign(session, conv["email"], team_id=None, assignee_id=colleague.id, actor=actor)
        do_send_to_triage(session, conv["triage"], actor=actor, reason="test")
        conv["resolved"].status = "resolved"
        conv["mine"].priority = "urgent"
        conv["email"].language = "de"
    login_as(client, runtime, s.agent)

    def view(query: str) -> set[int]:
        response = client.get(f"/inbox?{query}")
        assert response.status_code == 200, response.text
        return _ids(response.text)

    assert view("view=mine") == {ids["mine"]}
    assert view("view=mine&status=resolved") == {ids["resolved"]}
    assert view("view=mine&status=any") == {ids["mine"], ids["resolved"]}
    assert view("view=teams") == {ids["team"]}
    assert view("view=unassigned") == {ids["team"], ids["unassigned"], ids["triage"]}
    assert view("view=triage") == {ids["triage"]}
    assert view("view=all") == set(ids.values()) - {ids["resolved"]}
    assert view("view=all&priority=urgent") == {ids["mine"]}
    assert view(f"view=all&team={billing.id}") == {ids["other_team"]}
    assert view("view=all&channel=email") == {ids["email"]}
    assert view("view=all&language=de") == {ids["email"]}
    page = client.get("/inbox?view=all").text
    assert 'data-count="all">6<' in page and 'data-count="mine">1<' in page
    assert 'data-count="unassigned">3<' in page and 'data-count="triage">1<' in page
    assert client.get("/inbox?view=nope").status_code == 422
    assert client.get("/inbox?view=all&status=bogus").status_code == 422
    assert client.get("/inbox?view=all&team=abc").status_code == 422
    fragment = client.get("/inbox/fragment?view=mine", headers={"X-Requested-With": "fetch"})
    assert fragment.status_code == 200 and _ids(fragment.text) == {ids["mine"]}


def test_chats_the_bot_is_handling_are_in_their_own_view_until_a_handoff(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        do_save_article(
            session,
            s.workspace.id,
            key="faq",
            language="en",
            title="FAQ",
            body="# FAQ\n\nHi.",
            status="published",
        )
        chat = make_message(session, s.workspace, make_customer(session, s.workspace))
        ticket = make_message(
            session, s.workspace, make_customer(session, s.workspace), channel="email"
        )
    login_as(client, runtime, s.agent)

    def view(name: str) -> set[int]:
        return _ids(client.get(f"/inbox?view={name}").text)

    assert view("bot") == {chat.conversation_id}
    assert view("unassigned") == {ticket.conversation_id}  # a ticket waits for a person
    assert view("all") == {chat.conversation_id, ticket.conversation_id}
    page = client.get("/inbox?view=all").text
    assert "With the bot" in page and 'data-count="bot">1<' in page

    with runtime.db.write() as session:  # the customer asked for a person
        do_hand_off(
            session,
            _conversation(session, chat.conversation_id),
            reason="human_request",
            actor=Actor("system"),
        )
    assert view("bot") == set()
    assert view("unassigned") == {chat.conversation_id, ticket.conversation_id}
    assert view("triage") == {chat.conversation_id}

    with runtime.db.write() as session:  # without a bot (turned off), no chat is the bot's
        workspace = session.get_one(Workspace, s.workspace.id)
        update_workspace(session, workspace, bot_enabled=False)
        other = make_message(session, s.workspace, make_customer(session, s.workspace))
    assert view("bot") == set()
    assert other.conversation_id in view("unassigned")


def test_list_items_show_customer_and_badges(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        anon = make_customer(session, s.workspace)
        named = make_customer(session, s.workspace, email="jo@example.com")
        make_message(session, s.workspace, anon, "First question")
        make_message(session, s.workspace, named, "Second question")
    login_as(client, runtime, s.agent)
    html = client.get("/inbox?view=all").text
    assert f"Visitor #{anon.id}" in html and "jo@example.com" in html
    assert "First question" in html and "Second question" in html
    assert html.index("Second question") < html.index("First question")  # newest first


def test_inbox_list_query_count_is_fixed(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        team = make_team(session, s.workspace, "Support", [s.agent])
        conv_id = make_message(
            session, s.workspace, make_customer(session, s.workspace)
        ).conversation_id
    login_as(client, runtime, s.agent)

    def queries() -> int:
        with count_queries(runtime) as statements:
            assert client.get("/inbox?view=all").status_code == 200
        return len(statements)

    few = queries()
    with runtime.db.write() as session:
        for i in range(15):
            customer = make_customer(session, s.workspace, name=f"C{i}")
            result = make_message(session, s.workspace, customer)
            do_assign(
                session,
                _conversation(session, result.conversation_id),
                team_id=team.id,
                assignee_id=s.agent.id,
                actor=Actor("system"),
            )
    assert queries() == few
    assert few <= 11  # a fixed budget (one query asks whether the bot is on, for its view)
    assert conv_id


def test_conversation_view_transcript_and_escaping(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        customer = make_customer(
            session,
            s.workspace,
            name="<b>Bold</b>",
            attributes={"plan": "pro", "vip": True, "x": "<img src=y onerror=alert(9)>"},
            last_page_url="javascript:alert(4)",
        )
        conv_id = make_message(session, s.workspace, customer, XSS).conversation_id
        make_message(session, s.workspace, customer, "older", conversation_id=None)
    csrf = login_as(client, runtime, s.agent)
    client.post(f"/inbox/c/{conv_id}/note", data={"csrf_token": csrf, "body": "secret note"})
    client.post(f"/inbox/c/{conv_id}/reply", data={"csrf_token": csrf, "body": "we help"})
    html = client.get(f"/inbox/c/{conv_id}").text
    assert "<img src=x" not in html and "<script>alert" not in html and "<b>Bold" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "javascript:alert(4)" in html  # shown as text
    assert "Internal note" in html and "msg-note" in html and "secret note" in html
    assert "msg-customer" in html and "msg-agent" in html
    assert "plan" in html and "pro" in html
    assert "Past conversations" in html
    assert f'data-conversation-id="{conv_id}"' in html
    assert "Content-Security-Policy" in client.get(f"/inbox/c/{conv_id}").headers


def test_messages_fragment_after_seq(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        customer = make_customer(session, s.workspace)
        first = make_message(session, s.workspace, customer, "one")
        make_message(
            session, s.workspace, customer, "two <i>", conversation_id=first.conversation_id
        )
    login_as(client, runtime, s.agent)
    response = client.get(
        f"/inbox/c/{first.conversation_id}/messages?after_seq={first.seq}",
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    assert "two &lt;i&gt;" in response.text and ">one<" not in response.text
    assert re.findall(r'data-seq="(\d+)"', response.text) == [str(first.seq + 1)]


def _events(runtime: Runtime, conv_id: int) -> list[str]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.conversation_id == conv_id)
                .order_by(ConversationEvent.id)
            )
        )


def test_actions_create_events(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        team = make_team(session, s.workspace, "Support", [s.agent])
        conv_id = make_message(
            session, s.workspace, make_customer(session, s.workspace)
        ).conversation_id
    csrf = login_as(client, runtime, s.agent)

    def post(action: str, **data: str) -> int:
        return client.post(
            f"/inbox/c/{conv_id}/{action}",
            data={"csrf_token": csrf, **data},
            follow_redirects=False,
        ).status_code

    assert post("reply", body="Hello!", back="?view=all") == 303
    assert post("note", body="Call them") == 303
    assert post("assign", team_id=str(team.id), assignee_id=str(s.agent.id)) == 303
    assert post("priority", priority="high") == 303
    assert post("status", status="pending") == 303
    assert (
        post("status", status="snoozed", snoozed_until="2999-01-01T09:00", tz_offset="-60") == 303
    )
    assert post("tags", tags="billing, VIP") == 303
    types = _events(runtime, conv_id)
    for expected in (
        "agent_replied",
        "note_added",
        "assigned",
        "team_changed",
        "priority_changed",
        "status_changed",
        "tags_changed",
    ):
        assert expected in types, (expected, types)
    with runtime.db.read() as session:
        conversation = session.get(Conversation, conv_id)
        assert conversation is not None
        assert conversation.status == "snoozed" and conversation.priority == "high"
        assert conversation.snoozed_until is not None and conversation.snoozed_until.hour == 8
        assert conversation.tags == ["billing", "vip"]
        kinds = [
            m.kind
            for m in session.scalars(
                select(Message).where(Message.conversation_id == conv_id).order_by(Message.seq)
            )
        ]
        assert kinds == ["message", "message", "note"]
    # A fetch submission answers 204 (the page gets the message through the socket).
    fetched = client.post(
        f"/inbox/c/{conv_id}/reply",
        data={"body": "via fetch"},
        headers={"X-Requested-With": "fetch", "X-CSRF-Token": csrf},
    )
    assert fetched.status_code == 204


def test_bad_action_input_is_refused_and_stores_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        conv_id = make_message(
            session, s.workspace, make_customer(session, s.workspace)
        ).conversation_id
    csrf = login_as(client, runtime, s.agent)
    before = _events(runtime, conv_id)

    def post(action: str, **data: str) -> int:
        return client.post(f"/inbox/c/{conv_id}/{action}", data=data).status_code

    assert post("reply", body="hi") == 403  # no CSRF token
    assert post("reply", body="hi", csrf_token="wrong") == 403
    assert post("reply", body="   ", csrf_token=csrf) == 422
    assert post("reply", body="x" * 20_000, csrf_token=csrf) == 422
    assert post("status", status="gone", csrf_token=csrf) == 422
    assert post("status", status="snoozed", csrf_token=csrf) == 422
    assert (
        post("status", status="snoozed", snoozed_until="2000-01-01T00:00", csrf_token=csrf) == 422
    )
    assert post("priority", priority="mega", csrf_token=csrf) == 422
    assert post("assign", team_id="x", csrf_token=csrf) == 422
    assert post("assign", assignee_id="999999", csrf_token=csrf) == 404
    assert _events(runtime, conv_id) == before


def test_other_workspace_gets_404(client: TestClient, runtime: Runtime) -> None:
    a = setup_workspace(runtime, "Alpha")
    b = setup_workspace(runtime, "Beta")
    with runtime.db.write() as session:
        a_team = make_team(session, a.workspace, "Alpha team", [a.agent])
        a_conv = make_message(
            session, a.workspace, make_customer(session, a.workspace)
        ).conversation_id
        b_conv = make_message(
            session, b.workspace, make_customer(session, b.workspace)
        ).conversation_id
    csrf = login_as(client, runtime, b.agent)
    assert client.get(f"/inbox/c/{a_conv}").status_code == 404
    assert client.get(f"/inbox/c/{a_conv}/messages?after_seq=0").status_code == 404
    assert client.get(f"/inbox/c/{a_conv}/details").status_code == 404
    for action, data in (
        ("reply", {"body": "hi"}),
        ("note", {"body": "hi"}),
        ("status", {"status": "closed"}),
        ("priority", {"priority": "urgent"}),
    ):
        assert (
            client.post(
                f"/inbox/c/{a_conv}/{action}", data={"csrf_token": csrf, **data}
            ).status_code
            == 404
        )
    # B's conversation cannot be given A's team or A's agent.
    assert (
        client.post(
            f"/inbox/c/{b_conv}/assign", data={"csrf_token": csrf, "team_id": str(a_team.id)}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/inbox/c/{b_conv}/assign", data={"csrf_token": csrf, "assignee_id": str(a.agent.id)}
        ).status_code
        == 404
    )
    assert _ids(client.get("/inbox?view=all").text) == {b_conv}
    assert _events(runtime, a_conv) == ["conversation_created", "message_received"]


def test_logged_out_pages_redirect_to_login(client: TestClient) -> None:
    response = client.get("/inbox/c/1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    fragment = client.get("/inbox/fragment", headers={"X-Requested-With": "fetch"})
    assert fragment.status_code == 401


def test_page_address_that_does_not_parse_gets_the_html_error_page(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        token = make_api_token(session, s.workspace)
    logged_out = client.get("/inbox/c/abc", follow_redirects=False)
    assert logged_out.status_code == 303 and logged_out.headers["location"].startswith("/login")
    csrf = login_as(client, runtime, s.admin)
    for url in (
        "/inbox/c/abc",
        "/inbox/c/abc/messages",
        "/inbox/c/abc/details",
        "/inbox/c/99999999999999999999999",
        "/admin/email/mails/0/reprocess",
        # every other page with an id in its address: too big for the database, not a 500
        "/macros/99999999999999999999999",
        "/inbox/c/99999999999999999999999/macros",
        "/admin/rules/99999999999999999999999",
        "/admin/sla/policies/99999999999999999999999",
        "POST /admin/agents/99999999999999999999999",
        "POST /admin/teams/99999999999999999999999/delete",
        "POST /admin/tokens/99999999999999999999999/revoke",
        "POST /admin/rules/99999999999999999999999/toggle",
        "POST /admin/sla/policies/99999999999999999999999/delete",
    ):
        method = "POST" if url.endswith("reprocess") else "GET"
        if url.startswith("POST "):
            method, url = "POST", url.removeprefix("POST ")
        response = client.request(method, url, data={"csrf_token": csrf})
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("text/html"), url
        assert '<p class="error" role="alert">' in response.text, url
        assert "This page&#39;s address is not valid" in response.text, url
        assert '{"error"' not in response.text and "Log out" in response.text, url
    assert "conversation_id &#39;abc&#39;" in client.get("/inbox/c/abc").text
    # the API keeps its JSON errors
    api = client.get("/api/v1/conversations/abc", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_input"


def test_snooze_without_a_time_comes_back_to_the_conversation(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        conv_id = make_message(
            session, s.workspace, make_customer(session, s.workspace)
        ).conversation_id
    csrf = login_as(client, runtime, s.agent)
    page = client.get(f"/inbox/c/{conv_id}?view=all").text
    assert '<label class="snooze-until">Snooze until <input type="datetime-local"' in page

    refused = client.post(
        f"/inbox/c/{conv_id}/status",
        data={"csrf_token": csrf, "status": "snoozed", "back": "?view=all&status=any"},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    html = refused.text
    assert f'data-conversation-id="{conv_id}"' in html  # the conversation, not an error page
    assert 'data-list-query="view=all&amp;status=any"' in html
    error = html.split('id="status-error"')[1].split("</p>")[0]
    assert "Snoozing needs a time" in error
    assert '<option value="snoozed" selected>' in html and 'aria-invalid="true"' in html
    past = client.post(
        f"/inbox/c/{conv_id}/status",
        data={"csrf_token": csrf, "status": "snoozed", "snoozed_until": "2000-01-01T09:00"},
    )
    assert past.status_code == 422 and "must be in the future" in past.text
    assert 'name="snoozed_until" value="2000-01-01T09:00"' in past.text
    # a fetch (inbox.js) still gets the plain error; the conversation did not change
    fetched = client.post(
        f"/inbox/c/{conv_id}/status",
        data={"status": "snoozed"},
        headers={"X-Requested-With": "fetch", "X-CSRF-Token": csrf},
    )
    assert fetched.status_code == 422 and "data-conversation-id" not in fetched.text
    with runtime.db.read() as session:
        assert _conversation(session, conv_id).status == "open"
    assert "status_changed" not in _events(runtime, conv_id)

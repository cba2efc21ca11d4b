"""CSAT over real protocols: the survey email goes out over SMTP to a capturing relay, its
one-click links are followed from the captured body (signed, single use, tampered or expired
links refused and nothing changed), and the widget's rating card over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from frontdesk.automation.surveys import survey_token
from frontdesk.config import Settings
from frontdesk.conversations.actions import do_change_status
from frontdesk.conversations.events import Actor
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, ConversationEvent, Survey, utcnow
from tests.conftest import make_settings
from tests.factories import make_customer, make_message
from tests.mailserver import CaptureRelay
from tests.web.agent.helpers import login_as, setup_workspace
from tests.web.widget.site import bearer, make_site, post, start

BASE = "http://127.0.0.1"
LINK = re.compile(r"http://127\.0\.0\.1(/survey/[A-Za-z0-9_.\-]+/(\d))")


@pytest.fixture
def relay() -> Iterator[CaptureRelay]:
    capture = CaptureRelay()
    capture.start()
    yield capture
    capture.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, relay: CaptureRelay) -> Settings:
    return make_settings(tmp_path, database_url, smtp_url=relay.url, base_url=BASE)


def email_ticket(
    runtime: Runtime, *, language: str | None = None, name: str = "Jonas Weber"
) -> dict[str, Any]:
    setup = setup_workspace(runtime, "Northwind")
    with runtime.db.write() as s:
        ws = s.merge(setup.workspace)
        customer = make_customer(s, ws, name=name, email="jonas@example.com", language=language)
        cid = make_message(s, ws, customer, "Where is my invoice?", channel="email").conversation_id
    return {"setup": setup, "conversation": cid}


def resolve_in_inbox(client: TestClient, runtime: Runtime, ticket: dict[str, Any]) -> None:
    csrf = login_as(client, runtime, ticket["setup"].agent)
    response = client.post(
        f"/inbox/c/{ticket['conversation']}/status",
        data={"csrf_token": csrf, "status": "resolved"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.cookies.clear()  # the customer clicking the links is nobody logged in


def links(mail: EmailMessage) -> dict[int, str]:
    part = mail.get_body(("plain",))
    assert part is not None
    found = {int(m.group(2)): m.group(1) for m in LINK.finditer(part.get_content())}
    assert sorted(found) == [1, 2, 3, 4, 5], found
    return found


def survey_row(runtime: Runtime) -> Survey:
    with runtime.db.read() as s:
        return s.scalars(select(Survey)).one()


def test_one_click_from_the_email_stores_the_rating_once(
    client: TestClient, runtime: Runtime, relay: CaptureRelay
) -> None:
    ticket = email_ticket(runtime)
    resolve_in_inbox(client, runtime, ticket)
    (mail,) = relay.wait_for(1)
    assert mail["To"] == "jonas@example.com"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "+c" in mail["Reply-To"]  # an answer by email lands back in the conversation
    assert mail["Subject"].startswith("How did we do?")
    html_part = mail.get_body(("html",))
    assert html_part is not None and html_part.get_content().count("/survey/") == 5
    urls = links(mail)

    page = client.get(urls[4])
    assert page.status_code == 200
    assert "You rated the help you received 4 out of 5" in page.text
    assert 'name="comment"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"]
    survey = survey_row(runtime)
    assert (survey.status, survey.rating, survey.resolved_by) == ("answered", 4, "agent")
    assert survey.agent_id == ticket["setup"].agent.id

    again = client.get(urls[1])  # a second click, another rating: refused
    assert again.status_code == 409 and "answered already" in again.text
    assert survey_row(runtime).rating == 4

    comment_url = urls[4].rsplit("/", 1)[0] + "/comment"
    saved = client.post(comment_url, data={"comment": "Fast, thanks <script>x</script>"})
    assert saved.status_code == 200 and "Thank you for your comment" in saved.text
    assert "<script>x" not in saved.text
    twice = client.post(comment_url, data={"comment": "and more"})
    assert twice.status_code == 409 and "received your comment already" in twice.text
    assert survey_row(runtime).comment == "Fast, thanks <script>x</script>"
    with runtime.db.read() as s:
        answered = s.scalars(
            select(ConversationEvent).where(ConversationEvent.type == "survey_answered")
        ).one()
        assert answered.data["via"] == "email" and answered.data["rating"] == 4
        assert answered.data["resolved_by"] == "agent"


def test_tampered_expired_and_wrong_links_change_nothing(
    client: TestClient, runtime: Runtime, relay: CaptureRelay
) -> None:
    ticket = email_ticket(runtime)
    resolve_in_inbox(client, runtime, ticket)
    (mail,) = relay.wait_for(1)
    url = links(mail)[5]
    token = url.split("/")[2]
    flipped = token[:-3] + ("x" if token[-3] != "x" else "y") + token[-2:]
    secret = runtime.settings.resolved_secret_key()
    survey = survey_row(runtime)
    bad = {
        f"/survey/{flipped}/5": (400, "not valid"),
        f"/survey/{token[:20]}/5": (400, "not valid"),
        f"/survey/{survey_token('another-secret', survey.id)}/5": (400, "not valid"),
        f"/survey/{survey_token(secret, survey.id + 100)}/5": (404, "not valid"),
        f"/survey/{survey_token(secret, survey.id, now=utcnow() - timedelta(days=31))}/5": (
            410,
            "expired",
        ),
        f"/survey/{token}/0": (400, "not valid"),
        f"/survey/{token}/6": (400, "not valid"),
        f"/survey/{token}/55": (400, "not valid"),
        f"/survey/{token}/five": (400, "not valid"),
    }
    for path, (status, words) in bad.items():
        page = client.get(path)
        assert page.status_code == status, (path, page.status_code)
        assert words in page.text, path
    before = survey_row(runtime)
    assert (before.status, before.rating) == ("sent", None)
    # A comment cannot come first, nor through a forged link.
    assert client.post(f"/survey/{token}/comment", data={"comment": "hi"}).status_code == 409
    assert client.post(f"/survey/{flipped}/comment", data={"comment": "hi"}).status_code == 400
    with runtime.db.read() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(ConversationEvent)
                .where(ConversationEvent.type.in_(("survey_answered", "survey_commented")))
            )
            == 0
        )
    # A link checker's HEAD stores nothing; the genuine link still works after all that.
    assert client.head(url).status_code == 200
    assert survey_row(runtime).status == "sent"
    assert client.get(url).status_code == 200
    assert survey_row(runtime).rating == 5
    empty = client.post(f"/survey/{token}/comment", data={"comment": "   "})
    assert empty.status_code == 422 and "write a comment" in empty.text
    long = client.post(f"/survey/{token}/comment", data={"comment": "x" * 2001})
    assert long.status_code == 422 and "too long" in long.text
    assert survey_row(runtime).comment is None


def test_a_replaced_survey_link_says_it_expired(
    client: TestClient, runtime: Runtime, relay: CaptureRelay
) -> None:
    ticket = email_ticket(runtime)
    resolve_in_inbox(client, runtime, ticket)
    (mail,) = relay.wait_for(1)
    first = links(mail)
    with runtime.db.write() as s:
        survey = s.scalars(select(Survey)).one()
        survey.sent_at -= timedelta(hours=2)  # long enough ago for a new one
        conversation = s.get(Conversation, ticket["conversation"])
        assert conversation is not None
        do_change_status(s, conversation, "open", actor=Actor("customer", conversation.customer_id))
        do_change_status(
            s, conversation, "resolved", actor=Actor("agent", ticket["setup"].agent.id)
        )
    second = links(relay.wait_for(2)[1])
    assert client.get(first[3]).status_code == 410
    assert client.get(second[3]).status_code == 200


def test_pages_and_email_speak_the_customers_language(
    client: TestClient, runtime: Runtime, relay: CaptureRelay
) -> None:
    ticket = email_ticket(runtime, language="de", name="<img src=x onerror=alert(1)>")
    resolve_in_inbox(client, runtime, ticket)
    (mail,) = relay.wait_for(1)
    assert mail["Subject"].startswith("Wie waren wir?")
    html_part = mail.get_body(("html",))
    assert html_part is not None
    assert "<img" not in html_part.get_content()  # the name is text in the email too
    page = client.get(links(mail)[2])
    assert page.status_code == 200
    assert 'lang="de"' in page.text and "mit 2 von 5 bewertet" in page.text


# The widget's rating card ------------------------------------------------------------------


def test_the_widget_rating_card(client: TestClient, runtime: Runtime) -> None:
    site = make_site(runtime)
    visitor = start(client, site)
    sent = post(client, site, visitor, "My charger is broken")
    cid = sent.json()["conversation"]["id"]
    api = site.api
    assert client.get(f"{api}/conversations/{cid}/surveys", headers=bearer(visitor)).json() == {
        "surveys": []
    }
    with runtime.db.write() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        do_change_status(s, conversation, "resolved", actor=Actor("agent", site.agent_id))
    listed = client.get(f"{api}/conversations/{cid}/surveys", headers=bearer(visitor))
    assert listed.status_code == 200
    (card,) = listed.json()["surveys"]
    assert card == {
        "id": card["id"],
        "conversation_id": cid,
        "after_seq": 1,
        "status": "sent",
        "rating": None,
        "commented": False,
    }
    sid = card["id"]
    for path in (f"{api}/conversations/{2**63}/surveys", f"{api}/surveys/{2**63}/rating"):
        huge = client.request(
            "GET" if path.endswith("surveys") else "POST",
            path,
            json={"rating": 5},
            headers=bearer(visitor),
        )
        assert huge.status_code == 422, path  # never a database overflow
    # Another visitor: as if the survey and the conversation did not exist.
    stranger = start(client, site)
    assert (
        client.get(f"{api}/conversations/{cid}/surveys", headers=bearer(stranger)).status_code
        == 404
    )
    assert (
        client.post(
            f"{api}/surveys/{sid}/rating", json={"rating": 1}, headers=bearer(stranger)
        ).status_code
        == 404
    )
    assert client.post(f"{api}/surveys/{sid}/rating", json={"rating": 1}).status_code == 401
    for bad in (
        {"rating": 0},
        {"rating": 6},
        {"rating": "5"},
        {"rating": 4.5},
        {"rating": 5, "x": 1},
        {},
    ):
        response = client.post(f"{api}/surveys/{sid}/rating", json=bad, headers=bearer(visitor))
        assert response.status_code == 422, bad
    assert survey_row(runtime).status == "sent"

    rated = client.post(f"{api}/surveys/{sid}/rating", json={"rating": 5}, headers=bearer(visitor))
    assert rated.status_code == 200
    assert rated.json()["survey"]["status"] == "answered" and rated.json()["survey"]["rating"] == 5
    again = client.post(f"{api}/surveys/{sid}/rating", json={"rating": 1}, headers=bearer(visitor))
    assert again.status_code == 409
    too_long = client.post(
        f"{api}/surveys/{sid}/comment", json={"comment": "x" * 2001}, headers=bearer(visitor)
    )
    assert too_long.status_code == 422
    commented = client.post(
        f"{api}/surveys/{sid}/comment", json={"comment": "Great help"}, headers=bearer(visitor)
    )
    assert commented.status_code == 200 and commented.json()["survey"]["commented"] is True
    stored = survey_row(runtime)
    assert (stored.rating, stored.comment, stored.channel) == (5, "Great help", "widget")
    with runtime.db.read() as s:
        answered = s.scalars(
            select(ConversationEvent).where(ConversationEvent.type == "survey_answered")
        ).one()
        assert answered.data["via"] == "widget"

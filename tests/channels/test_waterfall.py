"""The waterfall (F22): a chat handed to a person while nobody is online is told when a person
will answer (business hours, fixed clock) and asked for an email address; the widget endpoint
that takes it (validation, tenancy, rate limit); and the chat continuing as an email ticket.
On SQLite and PostgreSQL, through the real ingest path and the real widget endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.accounts.actions import set_team_members, update_agent
from frontdesk.bot.phrases import PHRASES, phrase
from frontdesk.channels import waterfall
from frontdesk.channels.email.addresses import parse_recipient
from frontdesk.channels.waterfall import MONTHS, WEEKDAYS, format_opening, nobody_online
from frontdesk.config import Settings
from frontdesk.conversations.actions import do_send_agent_reply
from frontdesk.domain.business_hours import BusinessHours
from frontdesk.language.detect import SUPPORTED
from frontdesk.runtime import Runtime, install
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Customer,
    Message,
    OutboundEmail,
    SupportAddress,
)
from tests.conftest import make_settings
from tests.factories import make_agent, make_customer, make_team, make_workspace, send_chat
from tests.mailserver import CaptureRelay
from tests.web.widget.site import Site, bearer, counts, make_site, post, start

SATURDAY_NOON = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
OFFICE_HOURS = {
    "timezone": "Europe/Berlin",
    "weekly": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
}


@pytest.fixture
def relay() -> Iterator[CaptureRelay]:
    server = CaptureRelay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, relay: CaptureRelay) -> Settings:
    return make_settings(tmp_path, database_url, smtp_url=relay.url, rate_widget_email_per_hour=3)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings, migrate=False)
    rt.jobs.huey.immediate = True
    install(rt)
    yield rt
    rt.close()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waterfall, "clock", lambda: SATURDAY_NOON)


def workspace_with(
    runtime: Runtime, *, hours: dict[str, Any] | None = None, email: str | None = None
) -> dict[str, int]:
    """A workspace whose only agent is away, and a customer (with ``email`` if given)."""
    with runtime.db.write() as s:
        ws = make_workspace(s, "Northwind")
        if hours is not None:
            ws.settings = {**(ws.settings or {}), "business_hours": hours}
        s.add(SupportAddress(workspace_id=ws.id, address="help@northwind.example", is_default=True))
        agent = make_agent(s, ws, name="Ana", online=False)
        customer = make_customer(s, ws, email=email)
        return {"workspace": ws.id, "customer": customer.id, "agent": agent.id}


def transcript(runtime: Runtime, conversation_id: int) -> list[Message]:
    with runtime.db.read() as s:
        rows = list(
            s.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)
            )
        )
        for r in rows:
            s.expunge(r)
        return rows


def event_types(runtime: Runtime, conversation_id: int) -> list[str]:
    with runtime.db.read() as s:
        return list(
            s.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.id)
            )
        )


def waterfall_messages(runtime: Runtime, conversation_id: int) -> list[Message]:
    return [
        m
        for m in transcript(runtime, conversation_id)
        if (m.meta.get("bot") or {}).get("kind") == "waterfall"
    ]


def conversation(runtime: Runtime, conversation_id: int) -> Conversation:
    with runtime.db.read() as s:
        row = s.get_one(Conversation, conversation_id)
        s.expunge(row)
        return row


def test_out_of_hours_the_customer_is_told_when_a_person_answers_and_asked_for_email(
    runtime: Runtime, relay: CaptureRelay
) -> None:
    ids = workspace_with(runtime, hours=OFFICE_HOURS)
    conversation_id = send_chat(runtime, ids, "Ich möchte bitte mit einem Menschen sprechen")
    [told] = waterfall_messages(runtime, conversation_id)
    expected = (
        phrase("de", "waterfall_closed", when="Montag, 2. Februar, 09:00 Uhr (Europe/Berlin)")
        + " "
        + phrase("de", "waterfall_ask_email")
    )
    assert told.author_type == "bot" and told.kind == "message"
    assert told.body.endswith(expected)
    assert told.meta["bot"] == {
        "kind": "waterfall",
        "language": "de",
        "opens_at": "2026-02-02T08:00:00+00:00",  # 09:00 in Berlin
        "ask_email": True,
    }
    assert "waterfall_started" in event_types(runtime, conversation_id)
    row = conversation(runtime, conversation_id)
    assert row.reply_by_email is False and row.assignee_id is None
    assert row.bot_state["waterfall"]["opens_at"] == "2026-02-02T08:00:00+00:00"
    assert relay.messages == []  # the widget asks; nothing is emailed yet

    # Once only: a later message in the same conversation does not repeat it.
    send_chat(runtime, ids, "Hallo? Ist jemand da?", conversation_id=conversation_id)
    assert len(waterfall_messages(runtime, conversation_id)) == 1


def test_open_but_nobody_online_says_as_soon_as_someone_is_available(runtime: Runtime) -> None:
    ids = workspace_with(runtime)  # no business hours: open 24/7
    conversation_id = send_chat(runtime, ids, "Talk to a person", intent="human")
    [told] = waterfall_messages(runtime, conversation_id)
    assert phrase("en", "waterfall_open") in told.body
    assert told.meta["bot"]["opens_at"] is None


def test_an_online_agent_means_no_waterfall(runtime: Runtime) -> None:
    ids = workspace_with(runtime)
    with runtime.db.write() as s:
        update_agent(s, s.get_one(Agent, ids["agent"]), availability="online")
    conversation_id = send_chat(runtime, ids, "Talk to a person", intent="human")
    assert waterfall_messages(runtime, conversation_id) == []
    assert "waterfall_started" not in event_types(runtime, conversation_id)


def test_who_counts_as_online(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        away = make_agent(s, ws, online=False)
        outsider = make_agent(s, ws)
        team = make_team(s, ws, "Billing", members=[away])
        # The team has nobody online, even though someone else in the workspace is.
        assert nobody_online(s, ws.id, team.id)
        assert not nobody_online(s, ws.id, None)  # triage: anyone online will see it
        full = make_agent(s, ws)
        update_agent(s, full, capacity=0)
        make_team(s, ws, "Other", members=[outsider])
        set_team_members(s, team, [away.id, full.id])
        # Online at capacity still counts: the chat waits in a live agent's queue.
        assert not nobody_online(s, ws.id, team.id)
        update_agent(s, full, is_active=False)
        assert nobody_online(s, ws.id, team.id)


def test_a_known_email_is_used_at_once_and_the_agent_reply_goes_there(
    runtime: Runtime, relay: CaptureRelay, settings: Settings
) -> None:
    ids = workspace_with(runtime, email="Li.Wei@Example.com")
    conversation_id = send_chat(runtime, ids, "我想和人工客服聊", intent="human")
    [told] = waterfall_messages(runtime, conversation_id)
    assert phrase("zh", "waterfall_email_known", email="li.wei@example.com") in told.body
    assert told.meta["bot"]["ask_email"] is False
    assert conversation(runtime, conversation_id).reply_by_email is True
    assert "reply_by_email_enabled" in event_types(runtime, conversation_id)
    assert relay.messages == []

    with runtime.db.write() as s:
        row = s.get_one(Conversation, conversation_id)
        do_send_agent_reply(s, row, s.get_one(Agent, ids["agent"]), body="您好，我来帮您。")
    [mail] = relay.wait_for(1)
    assert mail["To"] == "Li.Wei@Example.com".lower()
    assert mail["Subject"] == phrase("zh", "email_chat_subject", name="Northwind")
    tag = parse_recipient(str(mail["Reply-To"]), settings.resolved_secret_key())
    assert tag.conversation_id == conversation_id


@pytest.mark.parametrize("language", sorted(SUPPORTED))
def test_every_language_says_it(language: str) -> None:
    hours = BusinessHours.from_settings({"business_hours": OFFICE_HOURS})
    when = format_opening(datetime(2026, 2, 2, 8, 0, tzinfo=UTC), hours, language)
    assert when.startswith(WEEKDAYS[language][0]) or language == "zh"
    assert WEEKDAYS[language][0] in when and MONTHS[language][1] in when
    assert "09:00" in when and when.endswith(" (Europe/Berlin)") and "2026" not in when
    assert len(WEEKDAYS[language]) == 7 == len(set(WEEKDAYS[language]))
    assert len(MONTHS[language]) == 12 == len(set(MONTHS[language]))
    for key in (
        "waterfall_open",
        "waterfall_closed",
        "waterfall_ask_email",
        "waterfall_email_known",
        "waterfall_email_saved",
    ):
        text = PHRASES[language][key]
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", PHRASES["en"][key]))
        if language != "en":
            assert text != PHRASES["en"][key], (language, key)


# The widget's email field ---------------------------------------------------------------------


def offline_site(runtime: Runtime) -> Site:
    site = make_site(runtime, name="Acme")
    with runtime.db.write() as s:
        update_agent(s, s.get_one(Agent, site.agent_id), availability="away")
        s.add(
            SupportAddress(
                workspace_id=site.workspace_id, address="support@acme.example", name="Acme"
            )
        )
    return site


def waterfall_chat(client: TestClient, runtime: Runtime, site: Site) -> tuple[dict[str, Any], int]:
    session = start(client, site)
    sent = post(client, site, session, "Talk to a person", intent="human")
    assert sent.status_code == 200, sent.text
    conversation_id = int(sent.json()["conversation"]["id"])
    history = client.get(
        f"{site.api}/conversations/{conversation_id}/messages", headers=bearer(session)
    ).json()["messages"]
    kinds = [(m["meta"].get("bot") or {}).get("kind") for m in history]
    assert kinds[-1] == "waterfall" and history[-1]["meta"]["bot"]["ask_email"] is True
    return session, conversation_id


def email_url(site: Site, conversation_id: int) -> str:
    return f"{site.api}/conversations/{conversation_id}/email"


def customer_of(runtime: Runtime, conversation_id: int) -> Customer:
    with runtime.db.read() as s:
        customer = s.get_one(Conversation, conversation_id).customer
        s.expunge(customer)
        return customer


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not an email",
        "ana@",
        "Ana <ana@example.com>",
        "ana@example.com, bob@example.com",
        "ana@exa mple.com",
        "ana@example.com\r\nBcc: victim@example.com",
        "a" * 321,
    ],
)
def test_an_invalid_address_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime, relay: CaptureRelay, bad: str
) -> None:
    site = offline_site(runtime)
    session, conversation_id = waterfall_chat(client, runtime, site)
    before = counts(runtime)
    response = client.post(
        email_url(site, conversation_id), json={"email": bad}, headers=bearer(session)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and error["message"]
    assert counts(runtime) == before
    assert customer_of(runtime, conversation_id).email is None
    assert conversation(runtime, conversation_id).reply_by_email is False
    assert relay.messages == []


def test_the_address_is_saved_confirmed_and_the_chat_continues_by_email(
    client: TestClient, runtime: Runtime, relay: CaptureRelay, settings: Settings
) -> None:
    site = offline_site(runtime)
    session, conversation_id = waterfall_chat(client, runtime, site)
    response = client.post(
        email_url(site, conversation_id),
        json={"email": " Ana@Example.COM "},
        headers=bearer(session),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["email"] == "ana@example.com"
    confirmation = data["message"]
    assert confirmation["body"] == phrase("en", "waterfall_email_saved", email="ana@example.com")
    assert confirmation["meta"]["bot"]["kind"] == "waterfall_email"
    assert "author_id" not in confirmation
    assert customer_of(runtime, conversation_id).email == "ana@example.com"
    assert conversation(runtime, conversation_id).reply_by_email is True

    # The confirmation is the first email of the thread, answerable into this conversation.
    [first] = relay.wait_for(1)
    assert first["To"] == "ana@example.com"
    assert first["Subject"] == "Your chat with Acme"
    tag = parse_recipient(str(first["Reply-To"]), settings.resolved_secret_key())
    assert tag.conversation_id == conversation_id and not tag.tag_invalid
    assert text_of(first).rstrip().endswith(phrase("en", "email_reply_adds"))

    # The same address again (a double click) confirms once.
    again = client.post(
        email_url(site, conversation_id), json={"email": "ana@example.com"}, headers=bearer(session)
    )
    assert again.status_code == 200 and again.json()["message"]["id"] == confirmation["id"]
    bots = [m for m in transcript(runtime, conversation_id) if m.author_type == "bot"]
    assert [(m.meta["bot"]["kind"]) for m in bots] == ["handoff", "waterfall", "waterfall_email"]

    # Later, an agent answers in the inbox: it reaches the customer by email, in the thread.
    with runtime.db.write() as s:
        row = s.get_one(Conversation, conversation_id)
        do_send_agent_reply(s, row, s.get_one(Agent, site.agent_id), body="Hi Ana, fixed it.")
    _, second = relay.wait_for(2)
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["Reply-To"] == first["Reply-To"]
    assert "Hi Ana, fixed it." in text_of(second)
    # ... and in the chat too.
    history = client.get(
        f"{site.api}/conversations/{conversation_id}/messages", headers=bearer(session)
    ).json()["messages"]
    assert history[-1]["body"] == "Hi Ana, fixed it."
    with runtime.db.read() as s:
        assert len(s.scalars(select(OutboundEmail)).all()) == 2


def test_other_customers_conversations_and_chats_that_did_not_ask(
    client: TestClient, runtime: Runtime, relay: CaptureRelay
) -> None:
    site = offline_site(runtime)
    session, conversation_id = waterfall_chat(client, runtime, site)
    stranger = start(client, site)
    response = client.post(
        email_url(site, conversation_id),
        json={"email": "eve@example.com"},
        headers=bearer(stranger),
    )
    assert response.status_code == 404
    assert (
        client.post(email_url(site, conversation_id), json={"email": "a@b.example"}).status_code
        == 401
    )
    extra = client.post(
        email_url(site, conversation_id),
        json={"email": "a@b.example", "customer_id": 1},
        headers=bearer(session),
    )
    assert extra.status_code == 422
    # A chat that someone online answered never asked for an address.
    with runtime.db.write() as s:
        update_agent(s, s.get_one(Agent, site.agent_id), availability="online")
    other_session = start(client, site)
    live = post(client, site, other_session, "Talk to a person", intent="human").json()
    live_id = live["conversation"]["id"]
    refused = client.post(
        email_url(site, live_id), json={"email": "bob@example.com"}, headers=bearer(other_session)
    )
    assert refused.status_code == 409
    assert "does not ask" in refused.json()["error"]["message"]
    assert customer_of(runtime, conversation_id).email is None
    assert relay.messages == []


@pytest.mark.usefixtures("one_rate_window")
def test_email_addresses_are_rate_limited(
    client: TestClient, runtime: Runtime, relay: CaptureRelay
) -> None:
    site = offline_site(runtime)
    session, conversation_id = waterfall_chat(client, runtime, site)
    tries = ["ana0@example.com", "ana at example", "ana1@example.com", "ana2@example.com"]
    codes = [
        client.post(
            email_url(site, conversation_id), json={"email": email}, headers=bearer(session)
        ).status_code
        for email in [*tries, "ana3@example.com"]
    ]
    # rate_widget_email_per_hour=3 in these tests; a refused typo does not count
    assert codes == [200, 422, 200, 200, 429]
    assert customer_of(runtime, conversation_id).email == "ana2@example.com"
    assert len(relay.wait_for(3)) == 3


def test_the_opening_is_written_as_each_language_writes_a_date() -> None:
    hours = BusinessHours.from_settings({"business_hours": OFFICE_HOURS})
    monday = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
    assert format_opening(monday, hours, "en") == "Monday 2 February, 09:00 (Europe/Berlin)"
    assert format_opening(monday, hours, "es") == "lunes 2 de febrero, a las 09:00 (Europe/Berlin)"
    assert format_opening(monday, hours, "de") == "Montag, 2. Februar, 09:00 Uhr (Europe/Berlin)"
    assert format_opening(monday, hours, "zh") == "2月2日（星期一）09:00 (Europe/Berlin)"
    assert format_opening(monday, hours, "xx") == format_opening(monday, hours, "en")

"""The chat-to-email waterfall in a real browser (F22), against a real server, a real SMTP relay
that captures outgoing mail and the built-in SMTP listener for the customer's answer.

Nobody is online: the customer asks for a person in the widget, is told when someone will
answer (the workspace's next opening), leaves an email address (a wrong one first); an agent
later replies in the inbox, where the email's delivery state shows live beside the reply (and,
during a relay outage, retrying, failed and a Retry that sends it); the relay receives the
reply with the conversation's signed reply-to; the customer's email answer, sent over SMTP to
the listener, appears in the same conversation in the inbox."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from frontdesk.accounts.actions import update_workspace
from frontdesk.bot.phrases import phrase
from frontdesk.channels.email.addresses import parse_recipient
from frontdesk.channels.email.listener import MailListener
from frontdesk.channels.email.support import create_support_address
from frontdesk.channels.waterfall import format_opening
from frontdesk.config import Settings
from frontdesk.domain.business_hours import DAY_NAMES, BusinessHours
from frontdesk.store.models import Conversation, Message, utcnow
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.browser.test_widget_browser import eventually
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_agent, make_workspace
from tests.mailserver import CaptureRelay, free_port

pytestmark = pytest.mark.browser

CUSTOMER = "carla@customer.example"


@pytest.fixture
def relay() -> Iterator[CaptureRelay]:
    server = CaptureRelay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser_settings(tmp_path: Path, relay: CaptureRelay) -> Settings:
    return make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'browser.db'}",
        run_jobs_in_process=True,
        smtp_url=relay.url,
        mail_max_attempts=2,
        mail_retry_base_seconds=0.4,
        mail_timeout_seconds=5.0,
    )


@pytest.fixture
def listener(live_server: LiveServer) -> Iterator[MailListener]:
    with MailListener(live_server.runtime, free_port()) as smtp:
        yield smtp


def closed_today() -> dict[str, Any]:
    """Business hours open only three days from now (Berlin): closed whenever the test runs."""
    berlin = ZoneInfo("Europe/Berlin")
    open_day = (utcnow().astimezone(berlin).date() + timedelta(days=3)).weekday()
    return {"timezone": "Europe/Berlin", "weekly": {DAY_NAMES[open_day]: [["09:00", "17:00"]]}}


def badge(page: Any, text: str, state: str) -> Any:
    """The delivery state beside the agent's message containing ``text``."""
    return page.locator("#transcript .msg-agent", has_text=text).locator(
        f".delivery[data-state={state}]"
    )


def test_chat_becomes_an_email_ticket_when_nobody_is_online(
    live_server: LiveServer,
    other_origin: StaticSite,
    new_page: Callable[..., Any],
    relay: CaptureRelay,
    listener: MailListener,
) -> None:
    runtime = live_server.runtime
    hours = closed_today()
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        update_workspace(s, workspace, allowed_origins=[other_origin.origin])
        workspace.settings = {**(workspace.settings or {}), "business_hours": hours}
        create_support_address(s, workspace.id, "help@northwind.example", name="Northwind")
        make_agent(s, workspace, name="Ana", email="ana@northwind.example", online=False)
        workspace_id, slug = workspace.id, workspace.slug
    opening = BusinessHours.from_settings({"business_hours": hours}).next_opening(utcnow())
    when = format_opening(opening, BusinessHours.from_settings({"business_hours": hours}), "en")

    other_origin.pages["/"] = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Northwind Bikes</title>"
        "</head><body><h1>Northwind Bikes</h1>"
        f'<script src="{live_server.url}/widget.js" data-workspace="{slug}" async></script>'
        "</body></html>"
    )
    customer = new_page()
    customer.goto(other_origin.origin + "/")
    launcher = customer.locator("[data-fd=launcher]")
    launcher.wait_for(state="visible", timeout=15_000)
    if not customer.locator("[data-fd=panel]").is_visible():
        launcher.click()
    customer.locator("[data-fd=talk-to-person]").click()

    # Told when a person will answer, and asked for an email address, in the transcript.
    form = customer.locator("[data-fd=messages] [data-fd=email-form]")
    form.wait_for(timeout=15_000)
    told = customer.locator("[data-fd=messages] li.from-bot .bubble").last.text_content() or ""
    assert phrase("en", "waterfall_closed", when=when) in told
    assert phrase("en", "waterfall_ask_email") in told
    customer.fill("[data-fd=email-input]", "carla at customer")
    customer.click("[data-fd=email-save]")
    error = customer.locator("[data-fd=email-error]")
    error.wait_for(state="visible")
    assert (error.text_content() or "").startswith("Please enter a valid email address")
    customer.fill("[data-fd=email-input]", CUSTOMER)
    customer.click("[data-fd=email-save]")
    saved = phrase("en", "waterfall_email_saved", email=CUSTOMER)
    customer.locator("[data-fd=messages] li.from-bot .bubble", has_text=saved).wait_for()
    form.wait_for(state="detached")
    screenshot(customer, "waterfall-widget")

    with runtime.db.read() as s:
        conversation = s.scalars(
            select(Conversation).where(Conversation.workspace_id == workspace_id)
        ).one()
        conversation_id = conversation.id
        assert conversation.reply_by_email and conversation.customer.email == CUSTOMER
        assert conversation.assignee_id is None
    [confirmation] = relay.wait_for(1)
    assert confirmation["To"] == CUSTOMER

    # Later an agent replies in the inbox; the email's state shows beside the reply, live.
    agent = new_page(viewport={"width": 1400, "height": 900})
    agent.goto(live_server.url + "/")
    agent.fill("input[name=email]", "ana@northwind.example")
    agent.fill("input[name=password]", PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_url("**/inbox")
    agent.goto(f"{live_server.url}/inbox/c/{conversation_id}")
    agent.locator("body[data-live=live]").wait_for(state="attached")
    agent.fill("form[data-kind=reply] textarea", "Hi Carla, your new battery ships today.")
    agent.click("form[data-kind=reply] button[type=submit]")
    agent.locator("#transcript .msg-agent", has_text="your new battery ships today").wait_for()
    sent = badge(agent, "your new battery ships today", "sent")
    sent.wait_for(timeout=15_000)
    assert f"Email sent to {CUSTOMER}" in (sent.text_content() or "")

    _, reply = relay.wait_for(2)
    assert reply["To"] == CUSTOMER and reply["In-Reply-To"] == confirmation["Message-ID"]
    reply_to = str(reply["Reply-To"])
    tag = parse_recipient(reply_to, runtime.settings.resolved_secret_key())
    assert tag.conversation_id == conversation_id and not tag.tag_invalid
    assert reply_to.startswith(f"help+c{conversation_id}-") and reply_to.endswith(
        "@northwind.example"
    )
    customer.locator(
        "[data-fd=messages] li.from-agent .bubble", has_text="your new battery ships today"
    ).wait_for()

    # The relay goes down: the next reply shows retrying, then failed, live; Retry sends it.
    relay.stop()
    agent.fill("form[data-kind=reply] textarea", "Tracking number: NW-7731.")
    agent.click("form[data-kind=reply] button[type=submit]")
    agent.locator("#transcript .msg-agent", has_text="NW-7731").wait_for()
    failed = badge(agent, "NW-7731", "failed")
    failed.wait_for(timeout=20_000)
    assert "Email failed after 2 attempts" in (failed.text_content() or "")
    retry = failed.locator("button.delivery-retry")
    assert (retry.text_content() or "").strip() == "Retry"
    relay.start()
    retry.click()
    badge(agent, "NW-7731", "sent").wait_for(timeout=15_000)
    tracking = relay.wait_for(3)[2]
    assert tracking["Reply-To"] == reply_to
    screenshot(agent, "waterfall-inbox-delivery")

    # The customer answers the email: over SMTP to the listener, into the same conversation.
    answer = EmailMessage()
    answer["From"] = f"Carla <{CUSTOMER}>"
    answer["To"] = reply_to
    answer["Subject"] = f"Re: {reply['Subject']}"
    answer["Message-ID"] = make_msgid(domain="customer.example")
    answer["In-Reply-To"] = tracking["Message-ID"]
    answer["References"] = f"{confirmation['Message-ID']} {tracking['Message-ID']}"
    answer.set_content(
        "Thanks, the battery arrived and it works!\n\n"
        "On Monday, Northwind wrote:\n> Tracking number: NW-7731.\n"
    )
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
        smtp.send_message(answer)
    arrived = agent.locator("#transcript .msg-customer .msg-body", has_text="battery arrived")
    arrived.wait_for(timeout=20_000)
    assert "Tracking number" not in (arrived.text_content() or "")  # the quote is stripped

    def stored() -> list[Message]:
        with runtime.db.read() as s:
            return list(
                s.scalars(
                    select(Message)
                    .where(Message.workspace_id == workspace_id, Message.author_type == "customer")
                    .order_by(Message.id)
                )
            )

    messages = eventually(lambda: len(stored()) == 2 and stored(), what="the stored answer")
    assert {m.conversation_id for m in messages} == {conversation_id}
    with runtime.db.read() as s:
        assert s.scalars(select(Conversation.id)).all() == [conversation_id]
    assert agent.dialogs == [] and customer.dialogs == []
    screenshot(agent, "waterfall-inbox")

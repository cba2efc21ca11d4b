"""Macros and CSAT in real browsers against a real server: an agent finds a macro by typing in
the reply box, sees it rendered with the customer's first name, sends it with its "resolve"
action; the customer's widget (on another origin) shows the rating card, 5 is clicked, and the
rating is stored with who resolved it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from frontdesk.accounts.actions import update_workspace
from frontdesk.automation.macros import do_create_macro
from frontdesk.store.models import Conversation, ConversationEvent, Macro, Message, Survey
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.factories import PASSWORD, make_agent, make_workspace

pytestmark = pytest.mark.browser


def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def test_macro_reply_resolves_and_the_widget_asks_for_a_rating(
    live_server: LiveServer, other_origin: StaticSite, new_page: Callable[..., Any]
) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        update_workspace(s, workspace, allowed_origins=[other_origin.origin])
        agent = make_agent(s, workspace, name="Lena Fischer", email="lena@example.com")
        do_create_macro(
            s,
            workspace.id,
            name="Refund on its way",
            body='Hi {{ customer.first_name | default("there") }}, your refund is on its way. '
            "{{ agent.first_name }}",
            variants={"de": "Hallo {{ customer.first_name }}, die Erstattung ist unterwegs."},
            actions={"tags": ["refund"], "status": "resolved"},
        )
        do_create_macro(s, workspace.id, name="Ask for the error code", body="Which code?")
        slug, workspace_id, agent_id = workspace.slug, workspace.id, agent.id
    other_origin.pages["/"] = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Northwind Bikes</title></head>"
        "<body><h1>Northwind Bikes</h1>"
        f'<script src="{live_server.url}/widget.js" data-workspace="{slug}" '
        'data-name="Maria Papadopoulou" data-locale="en" async></script></body></html>'
    )

    # The customer writes from the company's website.
    customer = new_page(viewport={"width": 1200, "height": 900})
    customer.goto(other_origin.origin + "/")
    customer.locator("[data-fd=launcher]").click()
    box = customer.locator("[data-fd=input]")
    box.fill("I returned my bike last week, where is my refund?")
    box.press("Enter")

    def conversation_id() -> int | None:
        with runtime.db.read() as s:
            return s.scalar(
                select(Conversation.id).where(Conversation.workspace_id == workspace_id)
            )

    cid = eventually(conversation_id, what="the customer's conversation")

    # The agent picks the macro by typing in the reply box.
    inbox = new_page(viewport={"width": 1400, "height": 900})
    inbox.goto(live_server.url + "/login")
    inbox.fill("input[name=email]", "lena@example.com")
    inbox.fill("input[name=password]", PASSWORD)
    inbox.click("button[type=submit]")
    inbox.wait_for_url("**/inbox")
    inbox.goto(f"{live_server.url}/inbox/c/{cid}?view=all")
    inbox.locator("body[data-live=live]").wait_for(state="attached")
    reply = inbox.locator("form[data-kind=reply] textarea[name=body]")
    reply.click()
    reply.press("/")  # "/" in an empty reply opens the macro search
    search = inbox.locator("[data-macro-search]")
    search.wait_for()
    search.type("refu", delay=40)
    option = inbox.locator("[data-macro-results] [role=option]", has_text="Refund on its way")
    option.wait_for()
    expect(inbox.locator("[data-macro-results] [role=option]")).to_have_count(1)  # filtered
    assert "Hi Maria, your refund is on its way. Lena" in (option.text_content() or "")
    assert "status resolved" in (option.text_content() or "")
    screenshot(inbox, "macro-picker-open")
    search.press("Enter")
    assert reply.input_value() == "Hi Maria, your refund is on its way. Lena"
    chosen = inbox.locator("[data-macro-chosen]")
    assert not inbox.locator("[data-macro-panel]").is_visible()  # closed once picked
    assert chosen.is_visible() and "Refund on its way" in (chosen.text_content() or "")
    assert "status resolved" in (chosen.text_content() or "")
    screenshot(inbox, "macro-picked")
    inbox.click("form[data-kind=reply] button[type=submit]")
    inbox.locator("#transcript .msg-agent", has_text="your refund is on its way").wait_for()
    inbox.locator(".conv-header [data-status]", has_text="resolved").wait_for()
    expect(chosen).to_be_hidden()  # the macro was used: forgotten
    assert reply.input_value() == ""

    # The customer sees the reply, then the rating card; 5 is clicked.
    customer.locator("li[data-id] .bubble", has_text="your refund is on its way").wait_for()
    card = customer.locator("[data-fd=survey][data-state=sent]")
    card.wait_for(timeout=20_000)
    assert card.locator("button[data-rating]").count() == 5
    assert card.locator("button[data-rating='5']").get_attribute("aria-label") == "5 out of 5"
    screenshot(customer, "widget-rating-card")
    card.locator("button[data-rating='5']").click()
    thanks = customer.locator("[data-fd=survey][data-state=answered]")
    thanks.wait_for()
    assert "Thank you for your rating!" in (thanks.text_content() or "")
    thanks.locator("[data-fd=survey-comment]").fill("Quick and friendly")
    thanks.locator("[data-fd=survey-send]").click()
    customer.locator("[data-fd=survey]", has_text="Thank you for your feedback!").wait_for()

    def answered() -> Survey | None:
        with runtime.db.read() as s:
            survey = s.scalar(select(Survey).where(Survey.conversation_id == cid))
            return survey if survey is not None and survey.comment else None

    survey = eventually(answered, what="the stored rating")
    assert (survey.status, survey.rating, survey.comment) == ("answered", 5, "Quick and friendly")
    assert (survey.resolved_by, survey.agent_id, survey.channel) == ("agent", agent_id, "widget")
    with runtime.db.read() as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None and conversation.tags == ["refund"]
        macro = s.scalar(select(Macro).where(Macro.name == "Refund on its way"))
        assert macro is not None and macro.uses == 1
        types = set(
            s.scalars(
                select(ConversationEvent.type).where(ConversationEvent.conversation_id == cid)
            )
        )
        assert {"macro_applied", "survey_answered", "survey_commented"} <= types
        agent_messages = list(
            s.scalars(
                select(Message.body).where(
                    Message.conversation_id == cid, Message.author_type == "agent"
                )
            )
        )
        assert agent_messages == ["Hi Maria, your refund is on its way. Lena"]
    # The agent sees the rating in the transcript, live.
    inbox.locator("#transcript", has_text="rated the agent's resolution 5 out of 5").wait_for()
    assert customer.dialogs == [] and inbox.dialogs == []
    inbox.goto(live_server.url + "/macros")
    inbox.locator(
        "#macros tr[data-macro-name='Refund on its way']", has_text="status resolved"
    ).wait_for()
    screenshot(inbox, "macros-page")

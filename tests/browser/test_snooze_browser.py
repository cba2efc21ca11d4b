"""Snoozing in the conversation view, in a real browser: the date field has a visible label,
the browser asks for a time before it sends "Snoozed", and a time the server refuses brings
the agent back to the conversation with the problem shown beside the form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from frontdesk.inbound import InboundMessage, receive
from frontdesk.store.models import Conversation
from tests.browser.conftest import LiveServer, screenshot
from tests.factories import PASSWORD, make_agent, make_customer, make_workspace

pytestmark = pytest.mark.browser


def test_snooze_asks_for_a_time_and_stays_in_the_conversation(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        make_agent(s, workspace, name="Ana", email="ana@example.com")
        workspace_id, customer_id = workspace.id, make_customer(s, workspace, name="Sam").id
    conv_id = receive(
        runtime.db, InboundMessage(workspace_id, "chat", customer_id, "Call me next week")
    ).conversation_id

    page = new_page(viewport={"width": 1400, "height": 900})
    status_posts: list[str] = []
    page.on(
        "request",
        lambda r: status_posts.append(r.url) if r.method == "POST" and "/status" in r.url else None,
    )
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status == 404 else None)
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox")
    page.goto(f"{live_server.url}/inbox/c/{conv_id}?view=all")

    label = page.locator("form.js-status label", has_text="Snooze until")
    assert label.is_visible()
    until = page.get_by_label("Snooze until")
    assert until.get_attribute("type") == "datetime-local"
    status = page.locator("form.js-status select[name=status]")

    # Snoozed without a time: the browser refuses to send the form.
    status.select_option("snoozed")
    page.locator("form.js-status input[name=snoozed_until][required]").wait_for()
    page.click("form.js-status button[type=submit]")
    page.wait_for_timeout(300)
    assert status_posts == []
    assert page.locator("form.js-status input[name=snoozed_until]:invalid").count() == 1
    # Another status needs no time.
    status.select_option("pending")
    assert page.locator("form.js-status input[name=snoozed_until][required]").count() == 0
    status.select_option("snoozed")

    # A time the server refuses: back in the conversation, the problem beside the form.
    until.fill("2000-01-01T09:00")
    page.click("form.js-status button[type=submit]")
    error = page.locator("#status-error")
    error.wait_for()
    assert "must be in the future" in error.inner_text()
    assert page.locator("#transcript", has_text="Call me next week").is_visible()
    assert page.locator("h2", has_text="That did not work").count() == 0  # not the error page
    assert page.get_by_label("Snooze until").input_value() == "2000-01-01T09:00"
    screenshot(page, "snooze-refused")
    with runtime.db.read() as s:
        conversation = s.get(Conversation, conv_id)
        assert conversation is not None and conversation.status == "open"

    # A time in the future snoozes it.
    page.get_by_label("Snooze until").fill("2999-01-01T09:00")
    page.click("form.js-status button[type=submit]")
    page.locator(".conv-header [data-status]", has_text="snoozed").wait_for()
    assert page.locator("#status-error").count() == 0
    with runtime.db.read() as s:
        conversation = s.get(Conversation, conv_id)
        assert conversation is not None and conversation.status == "snoozed"
    assert failed == []  # no missing file (the favicon included)

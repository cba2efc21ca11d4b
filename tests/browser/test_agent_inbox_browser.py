"""The agent inbox in a real browser against a real server: login, live customer messages,
reply, internal note, status change, and hostile customer text shown as text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.inbound import InboundMessage, receive
from frontdesk.store.models import Conversation, ConversationEvent, Message
from tests.browser.conftest import LiveServer, screenshot
from tests.factories import PASSWORD, make_agent, make_customer, make_workspace

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror=alert(1)> <script>alert(2)</script> <a href="javascript:alert(3)">x</a>'


def test_agent_inbox_live(live_server: LiveServer, new_page: Callable[..., Any]) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        agent = make_agent(s, workspace, name="Ana", email="ana@example.com", role="admin")
        customer = make_customer(
            s, workspace, name="Sam <b>Tester</b>", last_page_url="javascript:alert(6)"
        )
        workspace_id, customer_id, agent_id = workspace.id, customer.id, agent.id
    first = receive(
        runtime.db, InboundMessage(workspace_id, "chat", customer_id, "My bike is broken")
    )
    conv_id = first.conversation_id

    page = new_page(viewport={"width": 1400, "height": 900})
    page.goto(live_server.url + "/")
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox")
    page.click("a.view[data-view=all]")
    page.wait_for_url("**/inbox?view=all*")
    page.get_by_text("My bike is broken").click()
    page.wait_for_url(f"**/inbox/c/{conv_id}*")
    # Not wait_for_function: its polling evaluates a string in the page, which the
    # Content-Security-Policy (no unsafe-eval) rightly refuses.
    page.locator("body[data-live=live]").wait_for(state="attached")

    # A new customer message (hostile HTML included) appears without reload.
    receive(
        runtime.db,
        InboundMessage(workspace_id, "chat", customer_id, XSS, conversation_id=conv_id),
    )
    page.locator("#transcript .msg-customer .msg-body", has_text="onerror").wait_for()
    assert page.locator("#transcript .msg-customer").count() == 2

    # Reply and note through the page.
    page.fill("form[data-kind=reply] textarea", "We will fix it today.")
    page.click("form[data-kind=reply] button[type=submit]")
    page.locator("#transcript .msg-agent", has_text="We will fix it today.").wait_for()
    page.fill("form[data-kind=note] textarea", "Check warranty first")
    page.click("form[data-kind=note] button[type=submit]")
    note = page.locator("#transcript .msg-note", has_text="Check warranty first")
    note.wait_for()
    assert "Internal note" in (note.text_content() or "")

    # Status change (a normal form post).
    page.select_option("form.js-status select[name=status]", "resolved")
    page.click("form.js-status button[type=submit]")
    page.wait_for_load_state()
    page.locator(".conv-header [data-status]", has_text="resolved").wait_for()

    # Hostile text stayed text: no dialog, no injected element.
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.locator("#transcript img, #transcript script, #transcript a").count() == 0
    assert page.locator(".side-panel a[href^='javascript']").count() == 0
    assert page.locator("b", has_text="Tester").count() == 0
    body = page.locator("#transcript .msg-customer .msg-body").nth(1).inner_text()
    assert "<img src=x onerror=alert(1)>" in body and "<script>alert(2)</script>" in body
    screenshot(page, "agent-inbox")

    with runtime.db.read() as s:
        conversation = s.get(Conversation, conv_id)
        assert conversation is not None and conversation.status == "resolved"
        kinds = list(
            s.scalars(
                select(Message.kind).where(Message.conversation_id == conv_id).order_by(Message.seq)
            )
        )
        assert kinds == ["message", "message", "message", "note"]
        types = set(
            s.scalars(
                select(ConversationEvent.type).where(ConversationEvent.conversation_id == conv_id)
            )
        )
        assert {"agent_replied", "note_added", "status_changed"} <= types
        assert conversation.assignee_id == agent_id

"""Routing in a real browser: an admin adds a rule in the rules page (page URL prefix
/developers/ → the engineers team); a customer writes from /developers/api in the widget on
another origin; with no published article there is no bot, so the message is routed at once,
to the engineers team and to its online agent with free capacity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.accounts.actions import update_agent, update_workspace
from frontdesk.conversations.actions import do_assign
from frontdesk.conversations.events import Actor
from frontdesk.store.models import Agent, Conversation, ConversationEvent
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.browser.test_widget_browser import eventually, shown, type_message
from tests.factories import (
    PASSWORD,
    make_agent,
    make_customer,
    make_message,
    make_team,
    make_workspace,
)

pytestmark = pytest.mark.browser


def test_admin_rule_routes_a_widget_message(
    live_server: LiveServer, other_origin: StaticSite, new_page: Callable[..., Any]
) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Helios")
        update_workspace(s, workspace, allowed_origins=[other_origin.origin])
        make_agent(s, workspace, name="Root", email="root@example.com", role="admin")
        away = make_agent(s, workspace, name="Away Ana")
        full = make_agent(s, workspace, name="Full Fay")
        free = make_agent(s, workspace, name="Free Finn")
        update_agent(s, away, availability="away")
        update_agent(s, full, capacity=1)
        engineers = make_team(s, workspace, "Engineers", members=[away, full, free])
        make_team(s, workspace, "Billing", members=[free])
        # Fay already has one open conversation: she is at her capacity.
        other = make_customer(s, workspace, name="Other")
        busy = s.get(Conversation, make_message(s, workspace, other, "earlier").conversation_id)
        assert busy is not None
        do_assign(s, busy, team_id=engineers.id, assignee_id=full.id, actor=Actor("system"))
        ids = (workspace.id, workspace.slug, engineers.id, free.id, busy.id)
    workspace_id, slug, engineers_id, free_id, busy_id = ids

    admin = new_page(viewport={"width": 1300, "height": 900})
    admin.goto(live_server.url + "/")
    admin.fill("input[name=email]", "root@example.com")
    admin.fill("input[name=password]", PASSWORD)
    admin.click("button[type=submit]")
    admin.wait_for_url("**/inbox")
    admin.goto(live_server.url + "/admin/rules")
    admin.click("#new-rule")
    admin.wait_for_url("**/admin/rules/new")
    admin.fill("input[name=name]", "Developer pages")
    admin.select_option("select[name=cond-0-field]", "page_url")
    admin.select_option("select[name=cond-0-op]", "prefix")
    admin.fill("input[name=cond-0-value]", "/developers/")
    admin.select_option("select[name=team]", label="Engineers")
    admin.click("#rule-form button[type=submit]")
    admin.wait_for_url("**/admin/rules")
    row = admin.locator("#rules tbody tr", has_text="Developer pages")
    row.wait_for()
    assert "Page URL starts with /developers/" in (row.text_content() or "")
    assert "team Engineers" in (row.text_content() or "")
    screenshot(admin, "routing-rules")

    other_origin.pages["/developers/api"] = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Helios API</title></head>"
        "<body><h1>Partner API</h1>"
        f'<script src="{live_server.url}/widget.js" data-workspace="{slug}" async></script>'
        "</body></html>"
    )
    customer = new_page()
    customer.goto(other_origin.origin + "/developers/api")
    launcher = customer.locator("[data-fd=launcher]")
    launcher.wait_for(state="visible", timeout=15_000)
    if not customer.locator("[data-fd=panel]").is_visible():
        launcher.click()
    customer.locator("[data-fd=panel]").wait_for(state="visible")
    type_message(customer, "My installer token is refused")
    eventually(lambda: shown(customer) == ["My installer token is refused"], what="the ack")

    def routed() -> Conversation | None:
        with runtime.db.read() as s:
            conversation = s.scalars(
                select(Conversation)
                .where(Conversation.workspace_id == workspace_id, Conversation.id != busy_id)
                .order_by(Conversation.id.desc())
            ).first()
            if conversation is None or conversation.assignee_id is None:
                return None
            s.expunge(conversation)
            return conversation

    conversation = eventually(routed, what="the routed conversation")
    assert conversation.team_id == engineers_id
    assert conversation.assignee_id == free_id
    assert conversation.page_url == other_origin.origin + "/developers/api"
    with runtime.db.read() as s:
        event = s.scalars(
            select(ConversationEvent).where(
                ConversationEvent.conversation_id == conversation.id,
                ConversationEvent.type == "routed",
            )
        ).one()
        assert event.data["by"] == "rule" and event.data["team"] == engineers_id
        agent = s.get(Agent, free_id)
        assert agent is not None and agent.last_assigned_at is not None

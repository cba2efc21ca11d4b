"""SLA alerts in a real browser: a breach swept on the server shows a notice to the team's
members in the inbox (live, over the socket), with the red badge on the row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from frontdesk.automation import sla
from frontdesk.conversations.actions import do_assign
from frontdesk.conversations.events import SYSTEM
from frontdesk.inbound import InboundMessage, record
from frontdesk.store.models import Conversation, utcnow
from tests.browser.conftest import LiveServer
from tests.factories import PASSWORD, make_agent, make_customer, make_team, make_workspace

pytestmark = pytest.mark.browser


def _login(page: Any, url: str, email: str) -> None:
    page.goto(url + "/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox")


def test_breach_notice_reaches_the_team(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        member = make_agent(s, workspace, name="Ana", email="ana@example.com")
        outsider = make_agent(s, workspace, name="Bo", email="bo@example.com")
        team = make_team(s, workspace, "Billing", members=[member])
        make_team(s, workspace, "Tech", members=[outsider])
        sla.do_create_policy(
            s, workspace.id, {"name": "Fast", "first_response_minutes": 10, "business_hours": False}
        )
        customer = make_customer(s, workspace, name="Sam")
        conv_id = record(
            s, InboundMessage(workspace.id, "email", customer.id, "Invoice wrong"), max_chars=1000
        ).conversation_id
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        do_assign(s, conv, team_id=team.id, assignee_id=None, actor=SYSTEM)

    pages = {}
    for email in ("ana@example.com", "bo@example.com"):
        page = new_page(viewport={"width": 1400, "height": 900})
        _login(page, live_server.url, email)
        page.goto(live_server.url + "/inbox?view=all&sort=sla")
        page.locator("body[data-live=live]").wait_for(state="attached")
        page.locator(".conv-item .badge.sla.sla-ok").wait_for()
        pages[email] = page

    assert sla.sweep(runtime, now=utcnow() + timedelta(minutes=11)) == 2
    ana = pages["ana@example.com"]
    notice = ana.locator("[data-sla-alert=breached]")
    notice.wait_for()
    assert f"SLA breached: First response of #{conv_id} (Fast)" in notice.inner_text()
    assert ana.locator("[data-sla-alert=warning]").count() == 1
    bo = pages["bo@example.com"]
    bo.locator(".conv-item").first.wait_for()
    bo.wait_for_timeout(1000)
    assert bo.locator("[data-sla-alert]").count() == 0  # not his team
    notice.locator("button").click()
    assert ana.locator("[data-sla-alert=breached]").count() == 0

"""The chat widget in a real browser, on a page of another origin, against a real server."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.accounts.actions import update_workspace
from frontdesk.conversations.actions import do_send_agent_reply
from frontdesk.store.models import Agent, Conversation, Message
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.factories import make_agent, make_workspace

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('#frontdesk-widget').shadowRoot"
XSS_REPLY = (
    '<img src=x onerror=alert(1)> <script>alert(2)</script> <a href="javascript:alert(3)">x</a>'
)
XSS_CUSTOMER = "[click](javascript:alert(4)) <svg onload=alert(5)><b>bold?</b>"


class Shop:
    """A workspace whose widget sits on a page of another origin."""

    def __init__(self, server: LiveServer, site: StaticSite) -> None:
        self.server = server
        self.site = site
        with server.runtime.db.write() as s:
            workspace = make_workspace(s, "Northwind")
            update_workspace(s, workspace, allowed_origins=[site.origin])
            self.workspace_id = workspace.id
            self.slug = workspace.slug
            self.agent_id = make_agent(s, workspace, name="Ana").id
        site.pages["/"] = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>Northwind Bikes</title></head><body><h1>Northwind Bikes</h1>"
            "<p>E-bikes for cities, hills and cargo.</p>"
            f'<script src="{server.url}/widget.js" data-workspace="{self.slug}" async></script>'
            "</body></html>"
        )

    @property
    def url(self) -> str:
        return self.site.origin + "/"

    def customer_messages(self) -> list[str]:
        with self.server.runtime.db.read() as s:
            return list(
                s.scalars(
                    select(Message.body)
                    .where(Message.workspace_id == self.workspace_id)
                    .where(Message.author_type == "customer")
                    .order_by(Message.id)
                )
            )

    def conversation_id(self) -> int:
        with self.server.runtime.db.read() as s:
            ids = list(
                s.scalars(
                    select(Conversation.id).where(Conversation.workspace_id == self.workspace_id)
                )
            )
        assert len(ids) == 1, ids
        return ids[0]

    def reply(self, body: str) -> None:
        with self.server.runtime.db.write() as s:
            conversation = s.get(Conversation, self.conversation_id())
            agent = s.get(Agent, self.agent_id)
            assert conversation is not None and agent is not None
            do_send_agent_reply(s, conversation, agent, body=body)


@pytest.fixture
def shop(live_server: LiveServer, other_origin: StaticSite) -> Shop:
    return Shop(live_server, other_origin)


def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def shown(page: Any) -> list[str]:
    """Texts of the stored messages the widget shows (acknowledged ones, in order)."""
    texts: list[str] = page.evaluate(
        f"() => Array.from({SHADOW}.querySelectorAll('li[data-id] .bubble'))"
        ".map(e => e.textContent)"
    )
    return texts


def pending(page: Any) -> int:
    count: int = page.evaluate(f"() => {SHADOW}.querySelectorAll('li.pending').length")
    return count


def type_message(page: Any, text: str) -> None:
    box = page.locator("[data-fd=input]")
    box.fill(text)
    box.press("Enter")


def open_widget(page: Any, shop: Shop) -> None:
    page.goto(shop.url)
    launcher = page.locator("[data-fd=launcher]")
    launcher.wait_for(state="visible", timeout=15_000)
    eventually(lambda: page.locator("[data-fd=title]").text_content() == "Chat with Northwind")
    if not page.locator("[data-fd=panel]").is_visible():
        launcher.click()
    page.locator("[data-fd=panel]").wait_for(state="visible")


def test_customer_writes_agent_replies_and_no_markup_runs(
    shop: Shop, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    open_widget(page, shop)
    type_message(page, "Hello from the shop page")
    eventually(lambda: shown(page) == ["Hello from the shop page"], what="the ack")
    assert shop.customer_messages() == ["Hello from the shop page"]

    shop.reply(XSS_REPLY)
    eventually(lambda: len(shown(page)) == 2, what="the agent's reply, live")
    type_message(page, XSS_CUSTOMER)
    eventually(lambda: len(shown(page)) == 3, what="the second message")
    page.wait_for_timeout(500)  # give any injected handler the chance to fire

    assert page.dialogs == []
    injected = page.evaluate(
        f"() => {SHADOW}.querySelectorAll('img, script:not([src]), svg:not(.launcher svg), a, b')"
        ".length + document.querySelectorAll('img, svg, b').length"
    )
    assert injected == 0
    assert shown(page) == ["Hello from the shop page", XSS_REPLY, XSS_CUSTOMER]
    author = page.locator("[data-fd=messages] li.from-agent .author").first.text_content()
    assert author == "Ana"
    screenshot(page, "widget-desktop")

    # A reload keeps the visitor, the conversation and the open panel.
    page.reload()
    page.locator("[data-fd=panel]").wait_for(state="visible", timeout=15_000)
    eventually(
        lambda: shown(page) == ["Hello from the shop page", XSS_REPLY, XSS_CUSTOMER],
        what="the conversation after reload",
    )
    assert page.dialogs == []


def test_on_a_phone_the_panel_fills_the_screen(shop: Shop, new_page: Callable[..., Any]) -> None:
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_widget(page, shop)
    box = page.locator("[data-fd=panel]").bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    font_size = page.evaluate(
        f"() => getComputedStyle({SHADOW}.querySelector('[data-fd=input]')).fontSize"
    )
    assert float(font_size.removesuffix("px")) >= 16  # no zoom-on-focus on iOS
    type_message(page, "Γεια σας, το ποδήλατο δεν φορτίζει")
    eventually(lambda: shown(page) == ["Γεια σας, το ποδήλατο δεν φορτίζει"])
    screenshot(page, "widget-phone")


def test_nothing_is_lost_or_doubled_when_the_server_goes_away(
    shop: Shop, live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    open_widget(page, shop)
    type_message(page, "before the outage")
    eventually(lambda: shown(page) == ["before the outage"])

    # A send racing the shutdown: stored or not, it must end up there exactly once.
    type_message(page, "racing the outage")
    live_server.stop()
    eventually(
        lambda: page.locator("[data-fd=status]").is_visible(), what="the reconnecting notice"
    )
    type_message(page, "during the outage 1")
    shop.reply("agent, during the outage")
    type_message(page, "during the outage 2")
    assert pending(page) >= 2
    time.sleep(2)
    live_server.start()

    expected = [
        "before the outage",
        "racing the outage",
        "agent, during the outage",
        "during the outage 1",
        "during the outage 2",
    ]
    eventually(lambda: pending(page) == 0, timeout=40, what="the outbox to drain")
    eventually(lambda: sorted(shown(page)) == sorted(expected), timeout=20, what="resume")
    assert shop.customer_messages().count("racing the outage") == 1
    assert sorted(shop.customer_messages()) == sorted(m for m in expected if "agent" not in m)
    # The customer's own messages keep their order.
    customer_order = [m for m in shown(page) if "agent" not in m]
    assert customer_order == [m for m in expected if "agent" not in m]

    # And the connection is live again.
    shop.reply("back online")
    eventually(lambda: shown(page)[-1] == "back online", what="a live reply after reconnect")
    assert len(shown(page)) == len(set(shown(page))) == 6
    assert page.locator("[data-fd=status]").is_hidden()
    screenshot(page, "widget-after-reconnect")


def test_closed_widget_counts_unread_replies_in_the_visitors_language(
    shop: Shop, new_page: Callable[..., Any]
) -> None:
    shop.site.pages["/th"] = shop.site.pages["/"].replace(
        'data-workspace="', 'data-locale="th" data-workspace="'
    )
    page = new_page()
    page.goto(shop.site.origin + "/th")
    eventually(lambda: page.locator("[data-fd=title]").text_content() == "แชทกับ Northwind")
    page.locator("[data-fd=launcher]").click()
    assert page.locator("[data-fd=input]").get_attribute("placeholder") == "พิมพ์ข้อความ…"
    type_message(page, "สวัสดีครับ จักรยานชาร์จไฟไม่เข้า")
    eventually(lambda: len(shown(page)) == 1)
    page.locator("[data-fd=launcher]").click()  # close it
    page.locator("[data-fd=panel]").wait_for(state="hidden")

    badge = page.locator("[data-fd=badge]")
    assert badge.is_hidden()
    shop.reply("สวัสดีค่ะ")
    shop.reply("ลองตรวจสอบสายชาร์จนะคะ")
    eventually(lambda: badge.is_visible() and badge.text_content() == "2", what="the badge")
    assert badge.get_attribute("aria-label") == "ข้อความใหม่ 2 ข้อความ"
    page.locator("[data-fd=launcher]").click()
    eventually(lambda: badge.is_hidden(), what="the badge to clear once read")
    page.reload()  # read stays read
    eventually(lambda: len(shown(page)) == 3)
    assert badge.is_hidden()


def test_when_websockets_are_cut_the_widget_carries_on_over_http(
    shop: Shop, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    # A proxy that cuts every WebSocket as soon as it opens.
    page.route_web_socket(re.compile(r"/widget/v1/.*/ws"), lambda ws: ws.close(code=1011))
    open_widget(page, shop)
    type_message(page, "sent over plain HTTP")
    eventually(lambda: shown(page) == ["sent over plain HTTP"], timeout=40, what="HTTP send")
    shop.reply("answered while the widget polls")
    eventually(
        lambda: shown(page) == ["sent over plain HTTP", "answered while the widget polls"],
        timeout=30,
        what="HTTP poll",
    )
    assert shop.customer_messages() == ["sent over plain HTTP"]
    assert pending(page) == 0

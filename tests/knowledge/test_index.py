from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

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
    assert set(confidence.feature_names) <= set(features(hits))
    explained = confidence.explain(hits)
    assert explained["probability"] == probability
    assert explained["article_id"] == hits[0].article_id
    assert set(explained["contributions"]) == set(confidence.feature_names)
    log_odds = explained["intercept"] + sum(explained["contributions"].values())
    assert abs(log_odds - explained["log_odds"]) < 1e-9
    assert 1.0 / (1.0 + np.exp(-log_odds)) == pytest.approx(probability)


def test_confidence_fit_separates_and_round_trips() -> None:
    rows = [
        {
            "fused_n": s,
            "margin_n": s / 2,
            "e5": 0.8,
            "use": 0.3,
            "use_active": 1.0,
            "e5_gap": s / 3,
            "use_gap": 0.0,
            "bm25_z": 0.0,
        }
        for s in np.linspace(0, 4, 20)
    ]
    labels = [0] * 10 + [1] * 10
    model = Confidence.fit(rows, labels, threshold=0.5)
    again = Confidence.from_json(model.to_json())
    assert again == model
    assert again.coefficients[0] > 0
    subset = Confidence.fit(rows, labels, threshold=0.5, feature_names=["fused_n", "e5"])
    assert subset.feature_names == ["fused_n", "e5"] and len(subset.coefficients) == 2


def test_confidence_fitted_on_the_earlier_features_still_loads(index: KnowledgeIndex) -> None:
    old = Confidence(
        feature_names=["fused", "margin", "agreement"],
        mean=[0.0, 0.0, 0.0],
        scale=[1.0, 1.0, 1.0],
        coefficients=[1.0, 1.0, 1.0],
        intercept=0.0,
        threshold=0.5,
    )
    hits = index.search("reset my password", "en", k=3)
    assert 0.0 < old.probability(hits) <= 1.0


def test_features_are_on_one_scale_whatever_the_number_of_models(index: KnowledgeIndex) -> None:
    greek = index.search("κωδικός πρόσβασης", "el", k=3)  # USE left out: one model
    values = features(greek)
    assert values["use_active"] == 0.0 and values["use_gap"] == values["e5_gap"]
    assert values["fused_n"] == pytest.approx(greek[0].score)
    english = index.search("reset my password", "en", k=3)
    both = features(english)
    assert both["use_active"] == 1.0
    assert both["fused_n"] == pytest.approx(english[0].score / 2)
    assert both["margin_n"] == pytest.approx((english[0].score - english[1].score) / 2)


def test_signal_gaps_say_how_far_a_model_puts_the_hit_ahead(index: KnowledgeIndex) -> None:
    hits = index.search("I forgot my password, how do I choose a new one?", "en", k=3)
    for name in ("e5", "use", "bm25"):
        top = hits[0].signals
        if top[f"{name}_rank"] == 1.0:
            assert top[f"{name}_gap"] >= 0.0
        else:
            assert top[f"{name}_gap"] <= 0.0
    # the gap of the leader and of the runner-up under a signal mirror each other
    e5_first = next(h for h in hits if h.signals["e5_rank"] == 1.0)
    e5_second = next((h for h in hits if h.signals["e5_rank"] == 2.0), None)
    if e5_second is not None:
        assert e5_first.signals["e5_gap"] == pytest.approx(-e5_second.signals["e5_gap"])
    assert {"e5_title", "e5_title_z", "e5_title_rank"} <= set(hits[0].signals)


def test_titles_can_be_their_own_signal(index: KnowledgeIndex) -> None:
    plain = index.search("Track your order", "en", k=3)
    titled = index.search("Track your order", "en", k=3, fusion=Fusion(title_weight=1.0))
    assert titled[0].article_id == "track-order"
    track = next(h for h in plain if h.article_id == "track-order")
    assert titled[0].score == pytest.approx(
        track.score + track.signals["e5_title_z"] + track.signals["use_title_z"]
    )


def test_reciprocal_rank_fusion(index: KnowledgeIndex) -> None:
    hits = index.search("E04 on the display", "en", k=3, fusion=Fusion(method="rrf", rrf_k=10))
    assert hits[0].article_id == "inverter-error-codes"
    top = hits[0].signals
    expected = sum(
        weight / (10 + top[f"{name}_rank"])
        for name, weight in (("e5", 1.0), ("use", 1.0), ("bm25", 0.3))
    )
    assert hits[0].score == pytest.approx(expected)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_examples_are_a_signal_apart_from_the_passages(embedders: list[CountingEmbedder]) -> None:
    index = KnowledgeIndex(embedders)
    index.add_articles(ARTICLES)
    questions = {
        "reset-password": "cannot sign in, lost my password",
        "inverter-error-codes": "what does the code on the inverter mean",
        "track-order": "where is my parcel",
    }
    for article_id, question in questions.items():  # enough articles to compare examples
        index.add_example(article_id, question, "en")
    hits = index.search("where is my parcel now", "en", k=3)
    assert hits[0].article_id == "track-order"
    assert hits[0].signals["e5_example_rank"] == 1.0
    # inside the passages' max instead, an example would win on wording alone: still possible
    mixed = Fusion(kinds=frozenset({"passage", "example"}))
    assert (
        "e5_example" not in index.search("where is my parcel", "en", k=1, fusion=mixed)[0].signals
    )
    off = Fusion(example_weight=0.0)
    assert "e5_example" not in index.search("where is my parcel", "en", k=1, fusion=off)[0].signals


def test_the_passage_shown_is_the_one_naming_the_code_asked_about() -> None:
    codes = Article(
        "codes",
        "Error codes",
        "en",
        "## E01\nE01: what does it mean when the motor sensor lost contact? Check it.\n\n"
        "## E05\nE05: battery too warm; let it cool down.\n\n"
        "## E09\nE09: what does it mean when a short circuit hits the lights? Unplug them.",
    )
    other = Article("tyres", "Tyre pressure", "en", "Pump the tyres to 3 bar every month.")
    index = KnowledgeIndex([HashingEmbedder("e5")])
    index.add_articles([codes, other])
    (hit,) = index.search("what does E05 mean?", "en", k=1)
    assert hit.article_id == "codes"
    assert "E05" in hit.passage.text


class TableEmbedder:
    """Fixed vectors for known texts (a unit vector apart from all of them for the others)."""

    name = "e5"
    dim = 5

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def _embed(self, texts: Sequence[str]) -> Vectors:
        rows = np.array([self.table.get(t, [0, 0, 0, 0, 1.0]) for t in texts], dtype=np.float32)
        normalized: Vectors = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return normalized

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)


def table_index(
    table: dict[str, list[float]], examples: Sequence[tuple[str, str, str]]
) -> KnowledgeIndex:
    """Articles a, b and c (their passages apart from every question) and the given
    (article, question, language) examples, embedded by ``table``."""
    index = KnowledgeIndex([TableEmbedder(table)])
    index.add_articles(
        make_article(article_id, article_id.upper(), f"Article {article_id}.")
        for article_id in ("a", "b", "c")
    )
    for article_id, question, language in examples:
        index.add_example(article_id, question, language)
    return index


def test_an_example_like_every_question_in_the_language_counts_less() -> None:
    # dimension 0: what every Greek question shares; 1-3: the topics of articles a, b, c
    table = {
        "ερώτηση α": [1.0, 0.3, 0, 0, 0],
        "ερώτηση β": [0.4, 0, 1.0, 0, 0],
        "ερώτηση γ": [1.0, 0, 0, 0.3, 0],
        "νέα ερώτηση": [1.0, 0, 0.6, 0, 0],
    }
    index = table_index(
        table, [("a", "ερώτηση α", "el"), ("b", "ερώτηση β", "el"), ("c", "ερώτηση γ", "el")]
    )
    # raw cosines: the generic examples of a and c (0.82) beat b's (0.79); less what each
    # example shares with the mean Greek example, b's is the one that stands out
    assert index.search("νέα ερώτηση", "el", k=1)[0].article_id == "b"
    raw = Fusion(example_hubness=False)
    assert index.search("νέα ερώτηση", "el", k=1, fusion=raw)[0].article_id in ("a", "c")
    # no correction without example questions in the query's language
    assert index.search("νέα ερώτηση", "de", k=1)[0].article_id in ("a", "c")


def test_no_hubness_correction_while_a_language_s_examples_are_about_few_articles() -> None:
    # three Greek examples, all of article a: their mean is a's topic, not the language
    table = {
        "ερώτηση α1": [1.0, 0.3, 0, 0, 0],
        "ερώτηση α2": [1.0, 0.35, 0, 0, 0],
        "ερώτηση α3": [1.0, 0.25, 0, 0, 0],
        "question b": [0.2, 0, 1.0, 0, 0],
        "question c": [0.2, 0, 0, 1.0, 0],
        "νέα ερώτηση α": [1.0, 0.3, 0, 0, 0],
    }
    index = table_index(
        table,
        [
            ("a", "ερώτηση α1", "el"),
            ("a", "ερώτηση α2", "el"),
            ("a", "ερώτηση α3", "el"),
            ("b", "question b", "en"),
            ("c", "question c", "en"),
        ],
    )
    hits = index.search("νέα ερώτηση α", "el", k=3)
    raw = index.search("νέα ερώτηση α", "el", k=3, fusion=Fusion(example_hubness=False))
    assert hits[0].article_id == "a"
    assert [h.signals["e5_example_z"] for h in hits] == [h.signals["e5_example_z"] for h in raw]


class WordEmbedder:
    """A text's vector is the sum of its known words' vectors (normalised): a toy model in which
    every Greek word shares a language direction, as real multilingual models' words do."""

    name = "e5"
    dim = 6
    #       Greek English battery tyres brakes bike
    WORDS: ClassVar[dict[str, list[float]]] = {
        "φόρτιση": [1.5, 0, 1, 0, 0, 0],
        "μπαταρία": [1.5, 0, 1, 0, 0, 0],
        "ποδήλατο": [1.5, 0, 0, 0, 0, 1],
        "ελαστικά": [1.5, 0, 0, 1, 0, 0],
        "charging": [0, 0.8, 1, 0, 0, 0],
        "battery": [0, 0.8, 1, 0, 0, 0],
        "tyres": [0, 0.8, 0, 1, 0, 0],
        "brakes": [0, 0.8, 0, 0, 1, 0],
        "bike": [0, 0.8, 0, 0, 0, 1],
        "range": [0, 0.8, 0, 0, 0, 1],
    }

    def _embed(self, texts: Sequence[str]) -> Vectors:
        rows = []
        for text in texts:
            row = np.full(6, 1e-3)
            for word in text.lower().replace("#", " ").split():
                row += np.array(self.WORDS.get(word.strip(".,;?"), [0.0] * 6))
            rows.append(row / np.linalg.norm(row))
        return np.array(rows, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)


def word_index() -> KnowledgeIndex:
    """a (charging) in English and Greek; b (tyres), c (brakes), f (range) in English only."""
    index = KnowledgeIndex([WordEmbedder()])
    index.add_articles(
        [
            make_article(
                "a",
                "Charging",
                "## Battery\n\ncharging battery\n\n## Charging\n\nbattery charging bike",
            ),
            make_article(
                "a",
                "φόρτιση",
                "## μπαταρία\n\nφόρτιση μπαταρία\n\n## φόρτιση\n\nμπαταρία φόρτιση ποδήλατο",
                language="el",
                translation_of="a",
            ),
            make_article("b", "Tyres", "## Tyres\n\ntyres tyres\n\n## Bike\n\nbike tyres"),
            make_article("c", "Brakes", "## Brakes\n\nbrakes brakes\n\n## Bike\n\nbike brakes"),
            make_article("f", "Range", "## Range\n\nbattery range bike\n\n## Bike\n\nbike range"),
        ]
    )
    return index


def test_the_language_pull_is_measured_on_translations() -> None:
    # The one Greek article is no "Greek mean" to centre on: compared with its own passages,
    # all on its topic, a Greek question's lead depends on how the Greek version is written
    index = word_index()
    english = index.search("charging battery?", "en", k=1)[0]
    greek = index.search("φόρτιση μπαταρία;", "el", k=1)[0]
    assert english.article_id == greek.article_id == "a"
    assert greek.passage.language == "el"
    # the same question in either language stands out by as much, once the pull is taken off
    assert greek.signals["e5_gap"] == pytest.approx(english.signals["e5_gap"], rel=0.05)
    own = index.search("φόρτιση μπαταρία;", "el", k=1, fusion=Fusion(centering="mean"))[0]
    assert own.signals["e5_gap"] != pytest.approx(english.signals["e5_gap"], rel=0.05)


def test_a_question_in_the_language_of_a_translation_is_not_pulled_to_it() -> None:
    index = word_index()
    assert index.search("ελαστικά;", "el", k=1)[0].article_id == "b"
    # raw cosines: the only Greek article wins on language alone
    assert (
        index.search("ελαστικά;", "el", k=1, fusion=Fusion(centering="none"))[0].article_id == "a"
    )

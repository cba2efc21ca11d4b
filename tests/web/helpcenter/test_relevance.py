"""The help center's relevance rule, on hand-made hits (the real models: test_search_demo.py)."""

from __future__ import annotations

from frontdesk.knowledge.index import Hit
from frontdesk.knowledge.passages import Passage
from frontdesk.web.helpcenter.relevance import (
    MIN_PROBABILITY,
    Vocabulary,
    article_texts,
    relevant_hits,
)

VOCABULARY = Vocabulary.build(
    {
        "invoice": article_texts(
            "How do I download an invoice?",
            "Open **Orders** in the [app](https://x.test).",
            ["vat"],
        ),
        "charging": ["How do I charge the battery?", "ชาร์จแบตเตอรี่อย่างไร", "充电需要多久"],
        "shipping": ["Where do you ship?", "We ship to Paris in a week.", "ค่าส่งเท่าไร"],
        "errors": ["What does an error code mean?", "E05: the charger in the bike found a fault."],
    }
)


def _hit(article_id: str, score: float) -> Hit:
    passage = Passage(article_id, "en", article_id, article_id, "", "text", 0)
    return Hit(article_id, passage, score, {})


HITS = [_hit("charging", 3.0), _hit("invoice", 2.5), _hit("shipping", 1.0), _hit("errors", 0.5)]


def _listed(query: str, probability: float = 0.0, hits: list[Hit] = HITS) -> list[str]:
    return [h.article_id for h in relevant_hits(query, hits, VOCABULARY, probability)]


def _first(article_id: str) -> list[Hit]:
    """HITS with ``article_id`` ranked first, far ahead of the others."""
    return [_hit(article_id, 10.0), *(h for h in HITS if h.article_id != article_id)]


def test_words_an_article_holds_list_it() -> None:
    assert _listed("invoice", hits=_first("invoice")) == ["invoice"]
    assert _listed("VAT", hits=_first("invoice")) == ["invoice"]  # its tags count
    assert _listed("download invoice", hits=_first("invoice")) == ["invoice"]
    assert _listed("https x test", hits=_first("invoice")) == []  # link targets do not
    # "how do I" is in most English articles: it adds little, "charge the battery" decides
    assert _listed("how do I charge the battery", hits=_first("charging")) == ["charging"]


def test_a_match_also_lists_the_articles_near_the_top_in_the_search_order() -> None:
    # the query is about the knowledge base: the articles the models rank first come along
    assert _listed("download invoice") == ["charging", "invoice"]


def test_rare_words_weigh_more_than_common_ones() -> None:
    # "paris" is in one article but "weather" in none: the article holds too little of the query
    assert _listed("weather in Paris") == []
    assert VOCABULARY.coverage(["weather", "in", "paris"], "shipping") < 0.5


def test_thai_and_chinese_match_by_their_ngrams() -> None:
    assert _listed("ค่าส่ง", hits=_first("shipping")) == ["shipping"]
    assert VOCABULARY.coverage(["ค่า", "าส่", "ส่ง"], "shipping") == 1.0
    assert VOCABULARY.coverage(["充", "电", "充电"], "charging") == 1.0
    assert _listed("กขฃคฅฆง") == []


def test_an_identifier_is_enough() -> None:
    assert _listed("my bike shows E05 when I plug it in at night", hits=_first("errors")) == [
        "errors"
    ]
    assert _listed("E99") == []


def test_the_semantic_floor_opens_the_list_for_the_articles_near_the_top() -> None:
    assert _listed("akku laden", probability=MIN_PROBABILITY - 0.01) == []
    assert _listed("akku laden", probability=MIN_PROBABILITY) == ["charging", "invoice"]
    assert _listed("zzzxqy", probability=0.2) == []
    assert _listed("", probability=0.9) == ["charging", "invoice"]  # tokens or not
    assert relevant_hits("invoice", [], VOCABULARY, 1.0) == []
    # a top score at or below zero lists only the top
    low = [_hit("charging", -0.5), _hit("invoice", -0.6)]
    assert _listed("akku", probability=0.9, hits=low) == ["charging"]

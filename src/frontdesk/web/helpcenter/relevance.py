"""Which search hits the help center lists: the relevant ones, or none.

The knowledge index ranks every article for every query: even ``zzzxqy`` has a best article.
The bot's calibrated probability (:class:`frontdesk.knowledge.confidence.Confidence`) answers
a stricter question than a results list asks ("is the top article *the* answer?": two
articles on the same topic share the lead and both score low), so a list uses two kinds of
evidence, and shows nothing when it has neither:

* **lexical**: the query's words (for Thai and Chinese, their character n-grams:
  :func:`frontdesk.language.tokenize.tokenize`) occur in the article: any of its versions
  (title, body, tags) or the example questions an admin wrote for it. An identifier in the
  query (a token of three or more characters with a digit: ``E05``, ``429``) that the article
  holds is enough on its own. Each query token counts by its inverse document frequency over the
  workspace's articles *written in the token's script*, so words found in every article
  ("how", "the", "ist", "ที่", "的") add little, and a word no article knows adds a lot: the
  article is listed when the tokens it holds carry at least ``MIN_COVERAGE`` of the query's
  weight ("invoice", "akku laden", "error E05"; not "weather in Paris" for the one article
  that mentions Paris);
* **semantic**: the probability that the top article answers the query is at least
  ``MIN_PROBABILITY`` (a low floor: the bot needs far more to answer). The query is then about
  the knowledge base, and the articles whose fused score is at least ``NEAR_TOP`` of the top
  one's are listed with it, which keeps two articles that share the lead.

A query with any lexical match is about the knowledge base too: its near-top articles are
listed with the matching ones, so a keyword that only a neighbouring article spells out still
brings the article the models rank first ("akku laden": the German error-code table says
"Akku laden", the English charging article is the models' first).

Listed hits keep the index's order. Measured on 2026-12-04 with the real models, on the demo
knowledge base (27 nonsense or off-topic queries and 44 real ones, keywords and questions, in
the 7 languages) and on the Helios dev messages (none of it tuned there):

==========================  ==========================  ==================================
                            off-topic: no results       real: right article listed
==========================  ==========================  ==================================
demo, before (10 always)    0 of 27                     43 of 44
demo, this rule             23 of 27                    43 of 44 (42 first)
Helios dev, before          0 of 9                      76 of 77
Helios dev, this rule       8 of 9                      69 of 77 (3 of the 8 misses Greek)
==========================  ==========================  ==================================

The off-topic queries that still list articles: two Greek ones (only e5 reads Greek, and the
probability from one model is overconfident), and the weather in two cities the articles name
(a store in Berlin, delivery to Jakarta). A floor of 0.4 would list 5 more off-topic demo
queries for 4 more Helios messages kept; 0.6 one fewer for one real demo query and 3 Helios
ones lost. ``NEAR_TOP`` from 0.5 to 0.75 leaves the off-topic column as it is and trades list
length (2.2 to 1.7 articles on the demo) against Helios messages kept (70 to 65).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from frontdesk.knowledge.index import Hit
from frontdesk.knowledge.passages import plain_text
from frontdesk.language.tokenize import tokenize

__all__ = [
    "MIN_COVERAGE",
    "MIN_PROBABILITY",
    "NEAR_TOP",
    "Vocabulary",
    "article_texts",
    "relevant_hits",
]

MIN_COVERAGE = 0.5
MIN_PROBABILITY = 0.5
NEAR_TOP = 0.6


def article_texts(title: str, body: str, tags: Iterable[object]) -> list[str]:
    """What a version contributes to its article's tokens: title, body (Markdown syntax and
    link targets left out) and tags."""
    return [plain_text(title), plain_text(body), *(str(tag) for tag in tags)]


def _script(token: str) -> str:
    """The script a token is written in (its first letter's), for document frequencies."""
    for ch in token:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            return name.split(" ", 1)[0] if name else "?"
    return "DIGIT"


@dataclass(frozen=True)
class Vocabulary:
    """The tokens of each published article (all its versions), and how common each is."""

    tokens: Mapping[str, frozenset[str]]
    frequency: Mapping[str, int]
    per_script: Mapping[str, int]

    @classmethod
    def build(cls, texts: Mapping[str, Iterable[str]]) -> Vocabulary:
        """``texts``: article key -> the texts of its versions (titles, bodies, tags)."""
        tokens = {
            key: frozenset(token for text in parts for token in tokenize(text))
            for key, parts in texts.items()
        }
        frequency: Counter[str] = Counter()
        per_script: Counter[str] = Counter()
        for held in tokens.values():
            frequency.update(held)
            per_script.update({_script(token) for token in held})
        return cls(tokens, dict(frequency), dict(per_script))

    def _weight(self, token: str) -> float:
        # BM25's inverse document frequency, over the articles that use the token's script:
        # a Greek word is common or rare among the Greek articles, whatever the English say
        articles = self.per_script.get(_script(token), 0)
        found = self.frequency.get(token, 0)
        return math.log(1 + (articles - found + 0.5) / (found + 0.5))

    def coverage(self, query_tokens: Sequence[str], key: str) -> float:
        """The share of the query's weight held by the article's tokens (0 to 1)."""
        unique = set(query_tokens)
        held = self.tokens.get(key, frozenset())
        weights = {token: self._weight(token) for token in unique}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        return sum(weight for token, weight in weights.items() if token in held) / total


def relevant_hits(
    query: str,
    hits: Sequence[Hit],
    vocabulary: Vocabulary,
    probability: float,
    language: str | None = None,
) -> list[Hit]:
    """The hits worth listing for ``query``, in their order; empty when none is relevant.

    ``hits`` are the index's candidates, best first, and ``probability`` the calibrated
    probability that the first one answers the query.
    """
    if not hits:
        return []
    query_tokens = tokenize(query, language)
    identifiers = {t for t in query_tokens if len(t) >= 3 and any(c.isdigit() for c in t)}
    lexical = {
        hit.article_id
        for hit in hits
        if query_tokens
        and (
            vocabulary.coverage(query_tokens, hit.article_id) >= MIN_COVERAGE
            or identifiers & vocabulary.tokens.get(hit.article_id, frozenset())
        )
    }
    if probability < MIN_PROBABILITY and not lexical:
        return []
    top = hits[0].score
    near = top * NEAR_TOP if top > 0 else top
    return [hit for hit in hits if hit.article_id in lexical or hit.score >= near]

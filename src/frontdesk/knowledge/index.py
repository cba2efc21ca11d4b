"""``KnowledgeIndex``: multilingual retrieval over the passages of a knowledge base.

Units of text are indexed per article version (an article id in one language):

* ``passage`` — each passage of :func:`frontdesk.knowledge.passages.split_article`, or, with
  ``IndexConfig(unit="article")``, the whole article as one unit (kept for the ablation);
* ``title`` — the title alone, so a short question meets a short text;
* ``example`` — example questions attached to an article (written by admins, or learned from
  conversations an agent resolved with the article's link), in any language.

Signals, per query and article (an article's score is the best of its units, across all its
language versions, so a Thai question finds an English-only article):

* one cosine per embedder (e5, USE), less the pull of the query's own language (measured on
  the knowledge base's translations: :func:`_translation_centered`), standardised over the
  articles for this query (z-score), because the models' cosine ranges differ (e5 is
  compressed near 0.8, USE spreads 0.1 to 0.6);
* BM25 over language-aware tokens (:mod:`frontdesk.language.tokenize`), divided by the best
  article's BM25, for exact identifiers (E04, NW-20431) and names; low weight.

What the team handled (:mod:`frontdesk.knowledge.learning`) reaches the search as example
questions, fused as the ``example_weight`` signal below (with a hubness correction:
``Fusion.example_hubness``); each hit's ``history`` signal is 1.0
when the index has any, for :meth:`frontdesk.knowledge.confidence.Confidence.threshold_for`
(the learned threshold). An ``answerable`` model fitted on the examples against the questions a
person had to handle, and the nearest-example and nearest-negative cosines, were measured as
calibration features and dropped: no coverage gain at equal precision on Helios dev
(docs/evaluation.md).

Optional signals, each z-scored over articles per embedder and added with its own weight: the
best title (``title_weight``, off: it measured no gain) and the best example question
(``example_weight``), compared with the other examples rather than with the passages, since a
question is nearer any other question than any passage (inside the passages' max, examples
learnt by k-fold cost 8 points of top-1 on Helios). ``Fusion(method="rrf")`` fuses by
reciprocal rank instead (kept for the ablation; it measured worse). Each hit's ``signals`` also
hold, per signal, ``<name>_gap``: how far it stands above every other article under that
signal alone (negative when another leads), a calibration feature.

The fused score is the weighted sum (:class:`Fusion`; the defaults are those the benchmark
measured, see ``benchmarks/retrieval.py``). The hit shows the best passage of the article, in
the query's language when the article has a version in it.

The index is plain Python over dataclasses: the database layer feeds it articles and examples
and calls :meth:`KnowledgeIndex.upsert_article` when one changes (only that article version is
re-embedded).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.embedders import Embedder, Vectors
from frontdesk.knowledge.passages import Passage, plain_text, split_article
from frontdesk.language.tokenize import tokenize

__all__ = ["Fusion", "Hit", "IndexConfig", "KnowledgeIndex", "UnitKind"]

UnitKind = Literal["passage", "title", "example"]
LEXICAL = "bm25"
BM25_K1 = 1.2
BM25_B = 0.75
MIN_CENTERING_UNITS = 3


@dataclass(frozen=True)
class Fusion:
    """How the signals are combined into one score per article."""

    weights: Mapping[str, float] = field(default_factory=lambda: {"e5": 1.0, "use": 1.0})
    lexical_weight: float = 0.3
    # Titles are indexed but off by default: with language centering they cost one dev query
    # and OOS separation (benchmarks/retrieval.py, "+ titles").
    kinds: frozenset[str] = frozenset({"passage"})
    # "translations": the language pull measured on translated articles (_translation_centered);
    # "mean": subtract the mean cosine of the units in the same language as each unit; "z":
    # standardise within each language group (see _language_centered); "none": raw cosine
    centering: Literal["none", "mean", "z", "translations"] = "translations"
    # Languages a model is known not to read (MODELS.md, measured on data apart from Helios:
    # USE multilingual scores 0.20 in Greek): its signal is left out for queries in them.
    unsupported: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {"use": frozenset({"el"})}
    )
    # Titles as a signal of their own, added to the passage signal (not a unit competing with
    # the passages in the max): per embedder, the z-score over articles of the best title.
    title_weight: float = 0.0
    # Example questions as a signal of their own (a question is closer to another question
    # than to any passage, so in the passages' max they would win on wording alone): per
    # embedder, the best example of each article compared with the other examples in its
    # language, z-scored over the articles that have examples (the others count 0). Used when
    # "example" is not in ``kinds``.
    example_weight: float = 0.5
    # Hubness correction of the example signal (as CSLS in cross-lingual retrieval): each
    # example's cosine less its cosine with the mean of the example questions in the query's
    # language, once they are about MIN_CENTERING_UNITS articles. Questions in one language
    # share a large component (e5's cosines are compressed near 0.8), so an example close to
    # every question of that language is no evidence for this one. On the passages too it
    # measured worse (the calibration, fitted without history, no longer fits).
    example_hubness: bool = True
    # "z": weighted sum of the per-signal z-scores; "rrf": reciprocal-rank fusion,
    # sum of weight / (rrf_k + rank) over the signals (scores are then on a 1/rank scale).
    method: Literal["z", "rrf"] = "z"
    rrf_k: float = 10.0

    def weight(self, name: str, language: str | None = None) -> float:
        if language is not None and language in self.unsupported.get(name, frozenset()):
            return 0.0
        return self.weights.get(name, 0.0)


@dataclass(frozen=True)
class IndexConfig:
    unit: Literal["passage", "article"] = "passage"


@dataclass(frozen=True)
class Hit:
    article_id: str
    passage: Passage
    score: float
    signals: dict[str, float]


@dataclass
class _Unit:
    article_id: str
    language: str
    kind: UnitKind
    text: str
    passage: Passage | None
    tokens: Counter[str]


def _whole_article(article: Article) -> Passage:
    return Passage(
        article_id=article.id,
        language=article.language,
        title=plain_text(article.title),
        heading=plain_text(article.title),
        anchor="",
        text=plain_text(article.body) or plain_text(article.title),
        position=0,
    )


class KnowledgeIndex:
    """Search articles in any supported language; update one article at a time."""

    def __init__(
        self,
        embedders: Sequence[Embedder],
        *,
        config: IndexConfig | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        self.embedders = list(embedders)
        self.config = config or IndexConfig()
        self.fusion = fusion or Fusion()
        self._lock = threading.RLock()
        # (article_id, language) -> units of that version; examples under (article_id, "*")
        self._groups: dict[tuple[str, str], list[_Unit]] = {}
        self._vectors: dict[tuple[str, str], dict[str, Vectors]] = {}
        self._built: _Matrices | None = None

    # ----- updates -------------------------------------------------------------------------

    def _embed_group(self, units: list[_Unit]) -> dict[str, Vectors]:
        texts = [u.passage.embedding_text if u.passage else u.text for u in units]
        out: dict[str, Vectors] = {}
        for embedder in self.embedders:
            out[embedder.name] = embedder.embed_documents(texts)
        return out

    def _set_group(self, key: tuple[str, str], units: list[_Unit]) -> None:
        vectors = self._embed_group(units)  # outside the lock: embedding is the slow part
        with self._lock:
            self._groups[key] = units
            self._vectors[key] = vectors
            self._built = None

    def upsert_article(self, article: Article) -> None:
        """Add an article version, or replace it: only its own units are embedded again."""
        if self.config.unit == "article":
            passages = [_whole_article(article)]
        else:
            passages = split_article(article)
        units = [
            _Unit(
                article.id,
                article.language,
                "passage",
                p.embedding_text,
                p,
                Counter(tokenize(p.embedding_text)),
            )
            for p in passages
        ]
        title = plain_text(article.title)
        units.append(
            _Unit(article.id, article.language, "title", title, None, Counter(tokenize(title)))
        )
        self._set_group(article.key, units)

    def add_articles(self, articles: Iterable[Article]) -> None:
        for article in articles:
            self.upsert_article(article)

    def remove_article(self, article_id: str, language: str | None = None) -> None:
        """Forget one language version, or the whole article (with its examples)."""
        with self._lock:
            for key in list(self._groups):
                if key[0] == article_id and (language is None or key[1] == language):
                    del self._groups[key]
                    del self._vectors[key]
            self._built = None

    def add_example(self, article_id: str, text: str, language: str) -> None:
        """An example question the article answers (from an admin or a resolved conversation)."""
        text = " ".join(text.split())
        if not text:
            return
        key = (article_id, "*")
        unit = _Unit(article_id, language, "example", text, None, Counter(tokenize(text)))
        vectors = self._embed_group([unit])
        with self._lock:
            units = self._groups.setdefault(key, [])
            if any(u.text == text for u in units):
                return
            units.append(unit)
            old = self._vectors.get(key)
            self._vectors[key] = {
                name: vec if old is None else np.concatenate([old[name], vec])
                for name, vec in vectors.items()
            }
            self._built = None

    @property
    def article_ids(self) -> list[str]:
        with self._lock:
            return sorted(
                {key[0] for key, units in self._groups.items() if key[1] != "*" and units}
            )

    def __len__(self) -> int:
        return len(self.article_ids)

    # ----- search --------------------------------------------------------------------------

    def _matrices(self) -> _Matrices:
        with self._lock:
            if self._built is None:
                self._built = _Matrices.build(
                    self._groups,
                    self._vectors,
                    [e.name for e in self.embedders],
                )
            return self._built

    def search(
        self,
        query: str,
        language: str | None = None,
        k: int = 5,
        *,
        fusion: Fusion | None = None,
        query_vectors: Mapping[str, NDArray[np.float32]] | None = None,
    ) -> list[Hit]:
        """The ``k`` best articles for ``query``, each with its best passage and its signals.

        ``signals`` holds, per embedder, the raw best cosine (``e5``, ``use``), its z-score
        (``e5_z``) and the article's rank under that signal alone (``e5_rank``), and the same
        for ``bm25``; :mod:`frontdesk.knowledge.confidence` turns them into a probability.
        ``history`` is 1.0 when the index has example questions (0.0 when not).
        """
        fusion = fusion or self.fusion
        query_tokens = tokenize(query, language)
        built = self._matrices()
        n_articles = len(built.article_ids)
        if n_articles == 0 or not query.strip():
            return []
        active = [e for e in self.embedders if fusion.weight(e.name, language) != 0.0]
        kind_mask = np.isin(built.unit_kinds, list(fusion.kinds))
        titles = built.unit_kinds == "title"
        passages = built.unit_kinds == "passage"
        fused = np.zeros(n_articles, dtype=np.float64)
        unit_fused = np.zeros(len(built.unit_article), dtype=np.float64)
        per_signal: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        # example questions have no translations: centred on their language's own mean
        example_centering = "mean" if fusion.centering == "translations" else fusion.centering

        for embedder in active:
            if query_vectors is not None and embedder.name in query_vectors:
                q = np.asarray(query_vectors[embedder.name], dtype=np.float32).reshape(-1)
            else:
                q = embedder.embed_queries([query])[0]
            all_cosines = (built.vectors[embedder.name] @ q).astype(np.float64)
            hub = built.hubness.get((embedder.name, language or ""))
            example_cosines = (
                all_cosines - hub if hub is not None and fusion.example_hubness else all_cosines
            )
            cosines = all_cosines.copy()
            cosines[~kind_mask] = np.nan
            best_cosine = _max_per_article(
                np.nan_to_num(cosines, nan=-np.inf), built.unit_article, n_articles
            )
            sims = _language_centered(
                cosines,
                built.unit_languages,
                built.unit_kinds == "passage",
                fusion.centering,
                built.unit_article,
            )
            sims[~kind_mask] = -np.inf
            raw = _max_per_article(sims, built.unit_article, n_articles)
            raw[~np.isfinite(raw)] = np.nan
            mean = float(np.nanmean(raw)) if np.isfinite(raw).any() else 0.0
            std = float(np.nanstd(raw)) if np.isfinite(raw).any() else 0.0
            std = std if std > 1e-9 else 1.0
            z = np.nan_to_num((raw - mean) / std, nan=-10.0)
            weight = fusion.weight(embedder.name, language)
            fused += weight * z
            unit_fused += weight * np.where(np.isfinite(sims), (sims - mean) / std, -10.0)
            per_signal[embedder.name] = (np.nan_to_num(best_cosine, nan=0.0, neginf=0.0), z)
            examples = built.unit_kinds == "example"
            if fusion.example_weight != 0.0 and "example" not in fusion.kinds and examples.any():
                with_examples = len(np.unique(built.unit_article[examples]))
                if with_examples >= MIN_CENTERING_UNITS:
                    # compared with the other examples: a question is nearer any question
                    example_sims = _language_centered(
                        example_cosines, built.unit_languages, examples, example_centering
                    )
                    example_sims[~examples] = -np.inf
                    example_raw = _max_per_article(example_sims, built.unit_article, n_articles)
                    example_z = _zscore(example_raw, missing=0.0)
                else:
                    # too few to compare with each other: on the passages' scale
                    example_sims = _language_centered(
                        all_cosines, built.unit_languages, passages, example_centering
                    )
                    example_sims[~examples] = -np.inf
                    example_raw = _max_per_article(example_sims, built.unit_article, n_articles)
                    example_z = np.where(np.isfinite(example_raw), (example_raw - mean) / std, 0.0)
                fused += weight * fusion.example_weight * example_z
                per_signal[f"{embedder.name}_example"] = (
                    np.nan_to_num(example_raw, nan=0.0, neginf=0.0),
                    example_z,
                )
            if titles.any():
                title_sims = _language_centered(
                    all_cosines,
                    built.unit_languages,
                    built.unit_kinds == "passage",
                    fusion.centering,
                    built.unit_article,
                )
                title_sims[~titles] = -np.inf
                title_raw = _max_per_article(title_sims, built.unit_article, n_articles)
                title_z = _zscore(title_raw)
                if fusion.title_weight != 0.0:
                    fused += weight * fusion.title_weight * title_z
                per_signal[f"{embedder.name}_title"] = (
                    np.nan_to_num(title_raw, nan=0.0, neginf=0.0),
                    title_z,
                )

        if fusion.lexical_weight != 0.0:
            scores = built.bm25(query_tokens)
            scores[~kind_mask] = 0.0
            raw = _max_per_article(scores, built.unit_article, n_articles)
            top = float(raw.max())
            normalized = raw / top if top > 0 else raw
            fused += fusion.lexical_weight * normalized
            unit_fused += fusion.lexical_weight * (scores / top if top > 0 else scores)
            per_signal[LEXICAL] = (raw, normalized)

        ranks = {name: _ranks(z) for name, (_, z) in per_signal.items()}
        if fusion.method == "rrf":
            fused = np.zeros(n_articles, dtype=np.float64)
            for name, rank in ranks.items():
                base = name.removesuffix("_title").removesuffix("_example")
                weight = fusion.lexical_weight if base == LEXICAL else fusion.weight(base, language)
                if name.endswith("_title"):
                    weight *= fusion.title_weight
                elif name.endswith("_example"):
                    weight *= fusion.example_weight
                fused += weight / (fusion.rrf_k + rank)
        # the best and second-best article under each signal alone: a hit's "gap" is how far
        # it stands above every other article under that signal (negative when another leads)
        leaders = {name: _two_best(z) for name, (_, z) in per_signal.items()}
        order = np.argsort(-fused, kind="stable")[:k]
        hits: list[Hit] = []
        for index in order:
            article_id = built.article_ids[index]
            signals: dict[str, float] = {"fused": float(fused[index])}
            for name, (raw, z) in per_signal.items():
                signals[name] = float(raw[index])
                signals[f"{name}_z"] = float(z[index])
                signals[f"{name}_rank"] = float(ranks[name][index])
                first, second = leaders[name]
                signals[f"{name}_gap"] = float(
                    z[index] - (second if ranks[name][index] == 1 else first)
                )
            signals["history"] = 1.0 if built.has_examples else 0.0
            passage = built.best_passage(int(index), unit_fused, language, query_tokens)
            hits.append(Hit(article_id, passage, float(fused[index]), signals))
        return hits


def _max_per_article(
    values: NDArray[np.float64], unit_article: NDArray[np.int64], n: int
) -> NDArray[np.float64]:
    out = np.full(n, -np.inf, dtype=np.float64)
    np.maximum.at(out, unit_article, values)
    return out


def _language_centered(
    cosines: NDArray[np.float64],
    languages: NDArray[np.str_],
    reference: NDArray[np.bool_],
    mode: str,
    articles: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Remove the pull of the query's own language.

    Both models give every text in the query's language a higher cosine than a text on the
    same topic in another language: a Greek question lands on whatever Greek articles exist.
    Comparing each unit with the passages of its language (``reference``) removes that
    offset, while the best unit of each language still stands out. A language with fewer than
    ``MIN_CENTERING_UNITS`` passages (an example question in a language no article is written
    in) is compared with all passages instead. ``mode="translations"`` measures the offset on
    translated articles instead (:func:`_translation_centered`; it needs ``articles``, each
    unit's article).
    """
    if mode == "none":
        return cosines
    if mode == "translations":
        if articles is None:
            raise ValueError("translation centering needs each unit's article")
        return _translation_centered(cosines, languages, reference, articles)
    out = cosines.copy()
    usable = reference & np.isfinite(cosines)
    if not usable.any():
        return out
    overall = cosines[usable]
    for language in np.unique(languages):
        members = (languages == language) & np.isfinite(cosines)
        if not members.any():
            continue
        values = cosines[usable & (languages == language)]
        if len(values) < MIN_CENTERING_UNITS:
            values = overall
        scale = float(values.std()) if mode == "z" and len(values) > 1 else 1.0
        out[members] = (cosines[members] - float(values.mean())) / (scale if scale > 1e-9 else 1.0)
    return out


def _translation_centered(
    cosines: NDArray[np.float64],
    languages: NDArray[np.str_],
    reference: NDArray[np.bool_],
    articles: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Remove the pull of the query's own language, measured where it can be: on translations.

    Centring each language on the mean of its own passages fails when a language has few
    articles: with one Greek article, "the Greek mean" is that article, so a Greek question
    worded like its title scores barely above the article's other passages. An article and
    its translation say the same thing, so how much nearer the query is to the translation
    than to the original (their mean cosines, averaged over the translated articles) is the
    language's pull alone. Every unit is then compared with the passages of the base language
    (the one most articles are written in), a translation after taking its language's pull off.
    A language with no translation pair is centred on its own passages when they come from at
    least ``MIN_CENTERING_UNITS`` articles, else on all passages.
    """
    out = cosines.copy()
    usable = reference & np.isfinite(cosines)
    if not usable.any():
        return out
    versions: dict[tuple[int, str], list[float]] = {}  # (article, language) -> its cosines
    for i in np.flatnonzero(usable):
        versions.setdefault((int(articles[i]), str(languages[i])), []).append(float(cosines[i]))
    means = {key: sum(values) / len(values) for key, values in versions.items()}
    per_language = Counter(language for _, language in means)
    base = per_language.most_common(1)[0][0]
    base_values = cosines[usable & (languages == base)]
    base_mean = float(base_values.mean())
    overall = float(cosines[usable].mean())
    for name in np.unique(languages):
        language = str(name)
        members = (languages == language) & np.isfinite(cosines)
        if not members.any():
            continue
        if language == base:
            out[members] = cosines[members] - base_mean
            continue
        pairs = [
            mean - means[(article, base)]
            for (article, version), mean in means.items()
            if version == language and (article, base) in means
        ]
        if pairs:
            out[members] = cosines[members] - sum(pairs) / len(pairs) - base_mean
        elif per_language.get(language, 0) >= MIN_CENTERING_UNITS:
            own = cosines[usable & (languages == language)]
            out[members] = cosines[members] - float(own.mean())
        else:
            out[members] = cosines[members] - overall
    return out


def _zscore(raw: NDArray[np.float64], missing: float = -10.0) -> NDArray[np.float64]:
    """Standardised over the articles that have a value (the others get ``missing``)."""
    values = raw.copy()
    values[~np.isfinite(values)] = np.nan
    if not np.isfinite(values).any():
        return np.full(len(raw), missing)
    mean = float(np.nanmean(values))
    std = float(np.nanstd(values))
    std = std if std > 1e-9 else 1.0
    return np.nan_to_num((values - mean) / std, nan=missing)


def _two_best(scores: NDArray[np.float64]) -> tuple[float, float]:
    if len(scores) == 0:
        return 0.0, 0.0
    if len(scores) == 1:
        return float(scores[0]), float(scores[0])
    top = np.partition(scores, len(scores) - 2)[-2:]
    return float(top[1]), float(top[0])


def _ranks(scores: NDArray[np.float64]) -> NDArray[np.int64]:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


@dataclass
class _Matrices:
    """A read-only snapshot of the index for search, rebuilt after a change."""

    article_ids: list[str]
    units: list[_Unit]
    unit_article: NDArray[np.int64]
    unit_kinds: NDArray[np.str_]
    unit_languages: NDArray[np.str_]
    vectors: dict[str, Vectors]
    postings: dict[str, list[tuple[int, int]]]
    idf: dict[str, float]
    lengths: NDArray[np.float64]
    average_length: float
    # any example questions among the units (the ``history`` signal)
    has_examples: bool
    # (embedder, language) -> each unit's cosine with the mean of the example questions in
    # that language, for languages whose examples are about MIN_CENTERING_UNITS articles or
    # more (Fusion.example_hubness)
    hubness: dict[tuple[str, str], NDArray[np.float64]]

    @classmethod
    def build(
        cls,
        groups: Mapping[tuple[str, str], list[_Unit]],
        vectors: Mapping[tuple[str, str], Mapping[str, Vectors]],
        names: list[str],
    ) -> _Matrices:
        versions = {key[0] for key, units in groups.items() if key[1] != "*" and units}
        article_ids = sorted(versions)
        position = {article_id: i for i, article_id in enumerate(article_ids)}
        units: list[_Unit] = []
        blocks: dict[str, list[Vectors]] = {name: [] for name in names}
        for key in sorted(groups):
            if key[0] not in position:
                continue  # examples of an article that is not (or no longer) indexed
            units.extend(groups[key])
            for name in names:
                blocks[name].append(vectors[key][name])
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, unit in enumerate(units):
            for token, count in unit.tokens.items():
                postings.setdefault(token, []).append((i, count))
        n = max(len(units), 1)
        idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        lengths = np.array([sum(u.tokens.values()) for u in units], dtype=np.float64)
        unit_kinds = np.array([u.kind for u in units], dtype=np.str_)
        unit_languages = np.array([u.language for u in units], dtype=np.str_)
        matrices = {
            name: np.concatenate(blocks[name]) if blocks[name] else np.zeros((0, 1), np.float32)
            for name in names
        }
        hubness: dict[tuple[str, str], NDArray[np.float64]] = {}
        examples = unit_kinds == "example"
        unit_article = np.array([position[u.article_id] for u in units], dtype=np.int64)
        for language in np.unique(unit_languages[examples]):
            members = examples & (unit_languages == language)
            if len(np.unique(unit_article[members])) < MIN_CENTERING_UNITS:
                continue  # the mean of questions on one or two topics stands for those topics
            for name, matrix in matrices.items():
                mean = matrix[members].mean(axis=0)
                hubness[(name, str(language))] = (matrix @ mean).astype(np.float64)
        return cls(
            article_ids=article_ids,
            units=units,
            unit_article=unit_article,
            unit_kinds=unit_kinds,
            unit_languages=unit_languages,
            vectors=matrices,
            postings=postings,
            idf=idf,
            lengths=lengths,
            average_length=float(lengths.mean()) if len(lengths) else 1.0,
            has_examples=bool(examples.any()),
            hubness=hubness,
        )

    def bm25(self, query_tokens: list[str]) -> NDArray[np.float64]:
        scores = np.zeros(len(self.units), dtype=np.float64)
        for token in set(query_tokens):
            for i, count in self.postings.get(token, ()):
                norm = BM25_K1 * (1 - BM25_B + BM25_B * self.lengths[i] / self.average_length)
                scores[i] += self.idf[token] * count * (BM25_K1 + 1) / (count + norm)
        return scores

    def best_passage(
        self,
        article: int,
        unit_scores: NDArray[np.float64],
        language: str | None,
        query_tokens: Sequence[str] = (),
    ) -> Passage:
        """The passage of the article to show: the best scored one, except that a question
        naming an identifier (an error code like E05, an order number) gets a passage whose
        own text names it, when the article has one: inside one article every passage is on
        the topic, and only the exact words tell the E05 line from the E09 one."""
        candidates = [
            int(i)
            for i in np.flatnonzero(self.unit_article == article)
            if self.units[i].passage is not None
        ]
        in_language = [i for i in candidates if self.units[i].language == language]
        pool = in_language or candidates
        identifiers = {t for t in query_tokens if any(c.isdigit() for c in t)}
        if identifiers:
            naming = [
                i
                for i in pool
                if identifiers & set(tokenize(self.units[i].passage.text))  # type: ignore[union-attr]
            ]
            pool = naming or pool
        best = max(pool, key=lambda i: float(unit_scores[i]))
        passage = self.units[best].passage
        assert passage is not None
        return passage

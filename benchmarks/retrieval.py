"""Retrieval benchmark on the Helios knowledge base (../shared/data/helios).

Builds a :class:`~frontdesk.knowledge.index.KnowledgeIndex` on ``kb/``, runs the dev messages
labelled ``answer`` (and the ``out_of_scope`` hand-offs, for OOS separation) and reports:

* top-1 / top-3 article accuracy, overall and per language (any language version counts);
* OOS AUROC (answerable vs out-of-scope, on the top fused score and on the calibrated
  probability);
* the calibrated confidence: 5-fold cross-validated on dev, the threshold chosen on
  out-of-fold probabilities as the lowest one with answer precision ≥ ``--precision``, and the
  coverage / precision / OOS false answers it gives;
* p50 / p95 query latency (query embedding by both models + search), and the time to
  re-index one changed article;
* an ablation table: what each signal adds.

    .venv/bin/python benchmarks/retrieval.py            # table
    .venv/bin/python benchmarks/retrieval.py --json     # one JSON object
    .venv/bin/python benchmarks/retrieval.py --fit      # also write knowledge/confidence.json

Document and query vectors are cached under benchmarks/results/ (gitignored), so a second run
takes seconds; ``--no-cache`` recomputes them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from frontdesk.evaluation.helios import load_customers, load_messages
from frontdesk.evaluation.run import plan_folds
from frontdesk.guardrails.policy import default_policy
from frontdesk.guardrails.policy import evaluate as guardrails_decide
from frontdesk.knowledge.articles import load_articles
from frontdesk.knowledge.confidence import FEATURES, PARAMS_PATH, Confidence, features
from frontdesk.knowledge.embedders import CachedEmbedder, E5Embedder, Embedder, UseEmbedder
from frontdesk.knowledge.index import Fusion, IndexConfig, KnowledgeIndex

ROOT = Path(__file__).resolve().parents[1]
HELIOS = ROOT.parent / "shared" / "data" / "helios"
RESULTS = ROOT / "benchmarks" / "results"
LANGUAGES = ("en", "th", "el", "zh", "id", "es", "de")
ALL_KINDS = frozenset({"passage", "title", "example"})
PASSAGES = frozenset({"passage"})
DEFAULT = "+ BM25 (weight 0.3) = default"
NO_SKIP: dict[str, frozenset[str]] = {}
SEED = 7
TODAY = dt.date(2026, 12, 1)  # the guardrails' date (trial and signup rules): fixed, reproducible
L2 = 10.0  # ridge penalty of the calibration (few labelled messages, correlated features)


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    language: str
    article_id: str | None  # None: out of scope (or needs a person)
    reason: str = "answerable"  # or out_of_scope, needs_person


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return float(wins / (len(positives) * len(negatives)))


def _guarded(text: str, customer_id: str | None, customers: dict[str, dict[str, Any]]) -> bool:
    """Whether the default guardrails stop the message before the bot (as in the product)."""
    attributes = customers.get(customer_id or "", {})
    return guardrails_decide(default_policy(), text, attributes, today=TODAY) is not None


def load_queries(path: Path) -> tuple[list[Query], list[Query], list[Query]]:
    """(answerable, out_of_scope, needs_person): the two hand-off kinds retrieval must stop.

    The other hand-offs (pricing, cancellation, VIP, frustration, safety, human requests) are
    stopped by the guardrails before retrieval, so they are not scored here; nor are the
    out-of-scope and needs_person messages the guardrails stop (with the customer's attributes,
    from customers.jsonl beside the file: a case about one order or invoice, a VIP), since the
    bot never sees them and its threshold must be chosen on what it does see.
    """
    customers: dict[str, dict[str, Any]] = {}
    customers_file = path.with_name("customers.jsonl")
    if customers_file.exists():
        customers = {c.id: c.attributes for c in load_customers(customers_file)}
    answerable: list[Query] = []
    oos: list[Query] = []
    needs_person: list[Query] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        expected = row["expected"]
        guarded = _guarded(row["text"], row.get("customer_id"), customers)
        if expected["action"] == "answer":
            answerable.append(
                Query(
                    row["id"],
                    row["text"],
                    row["language"],
                    expected["article_id"],
                )
            )
        elif expected.get("reason") in ("out_of_scope", "needs_person") and not guarded:
            target = oos if expected["reason"] == "out_of_scope" else needs_person
            target.append(Query(row["id"], row["text"], row["language"], None, expected["reason"]))
    return answerable, oos, needs_person


def ablations() -> list[tuple[str, str, Fusion]]:
    """(name, index, fusion): each row adds one thing to the one above, then the variants."""
    raw: Literal["none"] = "none"
    return [
        ("lexical only (BM25)", "passages", Fusion(weights={}, lexical_weight=1.0, kinds=PASSAGES)),
        (
            "e5 only",
            "passages",
            Fusion(weights={"e5": 1.0}, lexical_weight=0.0, kinds=PASSAGES, centering=raw),
        ),
        (
            "USE only",
            "passages",
            Fusion(
                weights={"use": 1.0},
                lexical_weight=0.0,
                kinds=PASSAGES,
                centering=raw,
                unsupported=NO_SKIP,
            ),
        ),
        (
            "e5 + USE",
            "passages",
            Fusion(
                weights={"e5": 1.0, "use": 1.0},
                lexical_weight=0.0,
                kinds=PASSAGES,
                centering=raw,
                unsupported=NO_SKIP,
            ),
        ),
        (
            "+ language centering",
            "passages",
            Fusion(
                weights={"e5": 1.0, "use": 1.0},
                lexical_weight=0.0,
                kinds=PASSAGES,
                unsupported=NO_SKIP,
            ),
        ),
        (
            "+ USE off for Greek",
            "passages",
            Fusion(weights={"e5": 1.0, "use": 1.0}, lexical_weight=0.0, kinds=PASSAGES),
        ),
        ("+ BM25 (weight 0.3) = default", "passages", Fusion()),
        ("default + titles (in the passages' max)", "passages", Fusion(kinds=ALL_KINDS)),
        ("default + titles as own signal (0.3)", "passages", Fusion(title_weight=0.3)),
        (
            "default, centred on each language's own passages",
            "passages",
            Fusion(centering="mean"),
        ),
        ("default, reciprocal-rank fusion (k=10)", "passages", Fusion(method="rrf")),
        ("default, whole articles", "articles", Fusion()),
        ("default, e5 'query:' on documents", "passages", Fusion(weights={"e5q": 1.0, "use": 1.0})),
        ("e5 only, language-centred", "passages", Fusion(weights={"e5": 1.0}, lexical_weight=0.0)),
        (
            "USE only, language-centred",
            "passages",
            Fusion(weights={"use": 1.0}, lexical_weight=0.0, unsupported=NO_SKIP),
        ),
    ]


def evaluate(
    index: KnowledgeIndex,
    fusion: Fusion,
    queries: Sequence[Query],
    vectors: dict[str, np.ndarray[Any, Any]],
) -> tuple[dict[str, Any], list[list[Any]]]:
    results = []
    for i, query in enumerate(queries):
        hits = index.search(
            query.text,
            query.language,
            5,
            fusion=fusion,
            query_vectors={name: v[i] for name, v in vectors.items()},
        )
        results.append(hits)
    return summarize(queries, results), results


def summarize(queries: Sequence[Query], results: Sequence[Sequence[Any]]) -> dict[str, Any]:
    answerable = [(q, h) for q, h in zip(queries, results, strict=True) if q.article_id]
    oos = [h for q, h in zip(queries, results, strict=True) if q.reason == "out_of_scope"]
    top1 = [bool(h) and h[0].article_id == q.article_id for q, h in answerable]
    top3 = [q.article_id in [x.article_id for x in h[:3]] for q, h in answerable]
    by_language = {
        lang: round(
            float(
                np.mean(
                    [t for (q, _), t in zip(answerable, top1, strict=True) if q.language == lang]
                )
            ),
            3,
        )
        for lang in LANGUAGES
        if any(q.language == lang for q, _ in answerable)
    }
    return {
        "top1": round(float(np.mean(top1)), 3),
        "top3": round(float(np.mean(top3)), 3),
        "by_language": by_language,
        "oos_auroc_top_score": auroc(
            [h[0].score for _, h in answerable if h], [h[0].score for h in oos if h]
        ),
    }


def _fit_predict(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    train: np.ndarray[Any, Any],
    test: np.ndarray[Any, Any],
    names: Sequence[str],
    l2: float,
) -> np.ndarray[Any, Any]:
    model = Confidence.fit(
        [rows[i] for i in train],
        [labels[i] for i in train],
        threshold=0.5,
        l2=l2,
        feature_names=names,
    )
    x = np.array([[rows[i][n] for n in model.feature_names] for i in test], dtype=np.float64)
    z = (x - np.array(model.mean)) / np.array(model.scale) @ np.array(
        model.coefficients
    ) + model.intercept
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def cross_validated(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    folds: int,
    seed: int,
    *,
    names: Sequence[str] = FEATURES,
    l2: float = L2,
    trainable: np.ndarray[Any, Any] | None = None,
) -> np.ndarray[Any, Any]:
    """Out-of-fold probabilities: each message scored by a model fitted without it."""
    n = len(rows)
    usable = np.ones(n, dtype=bool) if trainable is None else trainable
    order = np.random.default_rng(seed).permutation(n)
    oof = np.zeros(n)
    for fold in range(folds):
        test = order[fold::folds]
        train = np.setdiff1d(order, test)
        oof[test] = _fit_predict(rows, labels, train[usable[train]], test, names, l2)
    return oof


def nested_cross_validated(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    folds: int,
    seed: int,
    precision: float,
    *,
    names: Sequence[str] = FEATURES,
    l2: float = L2,
    trainable: np.ndarray[Any, Any] | None = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Out-of-fold probabilities and thresholds: nothing is learnt from the scored messages.

    For each outer fold, the model is fitted on the other folds, and the threshold is chosen on
    the other folds' own out-of-fold probabilities (an inner k-fold), then both are applied to
    the held-out fold.
    """
    n = len(rows)
    usable = np.ones(n, dtype=bool) if trainable is None else trainable
    order = np.random.default_rng(seed).permutation(n)
    probabilities = np.zeros(n)
    thresholds = np.zeros(n)
    for fold in range(folds):
        test = order[fold::folds]
        train = np.setdiff1d(order, test)
        train = train[usable[train]]
        inner = cross_validated(
            [rows[i] for i in train],
            [labels[i] for i in train],
            folds,
            seed + 1,
            names=names,
            l2=l2,
        )
        thresholds[test] = choose_threshold(inner, [labels[i] for i in train], precision)
        probabilities[test] = _fit_predict(rows, labels, train, test, names, l2)
    return probabilities, thresholds


def choose_threshold(
    probabilities: np.ndarray[Any, Any], labels: Sequence[int], precision: float
) -> float:
    """The lowest threshold whose answers (p ≥ t) keep ``precision``; 1.0 if none does."""
    y = np.array(labels)
    for t in sorted(set(np.round(probabilities, 4))):
        answered = probabilities >= t
        if answered.sum() >= 3 and float(y[answered].mean()) >= precision:
            return float(t)
    return 1.0


def answer_figures(
    answered: np.ndarray[Any, Any], labels: Sequence[int], queries: Sequence[Query]
) -> dict[str, Any]:
    """Precision over answerable + out-of-scope messages (the bar), and with needs_person too."""
    y = np.array(labels)
    reason = np.array([q.reason for q in queries])
    is_answerable = reason == "answerable"
    is_oos = reason == "out_of_scope"
    is_np = reason == "needs_person"

    def figures(mask: np.ndarray[Any, Any]) -> dict[str, Any]:
        scored = answered & mask & (is_answerable | is_oos)
        everything = answered & mask
        return {
            "answer_precision": float(y[scored].mean()) if scored.any() else None,
            "answer_precision_with_needs_person": float(y[everything].mean())
            if everything.any()
            else None,
            "answer_coverage": float(
                (answered & mask & is_answerable & (y == 1)).sum()
                / max((mask & is_answerable).sum(), 1)
            ),
            "oos_false_answer_rate": float(
                (answered & mask & is_oos).sum() / max((mask & is_oos).sum(), 1)
            ),
            "needs_person_false_answer_rate": float(
                (answered & mask & is_np).sum() / max((mask & is_np).sum(), 1)
            ),
        }

    out = figures(np.ones(len(queries), dtype=bool))
    out["by_language"] = {
        lang: figures(np.array([q.language == lang for q in queries]))
        for lang in LANGUAGES
        if any(q.language == lang for q in queries)
    }
    return out


def _mean_figures(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def mean(values: list[Any]) -> float | None:
        present = [v for v in values if v is not None]
        return round(float(np.mean(present)), 3) if present else None

    keys = [k for k in runs[0] if k != "by_language"]
    out: dict[str, Any] = {k: mean([r[k] for r in runs]) for k in keys}
    if "by_language" in runs[0]:
        out["by_language"] = {
            lang: {k: mean([r["by_language"][lang][k] for r in runs]) for k in keys}
            for lang in runs[0]["by_language"]
        }
    return out


def honest_figures(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    queries: Sequence[Query],
    args: argparse.Namespace,
    *,
    names: Sequence[str] = FEATURES,
    trainable: np.ndarray[Any, Any] | None = None,
) -> dict[str, Any]:
    """Nested k-fold figures, averaged over ``--repeats`` shuffles of the folds."""
    runs = []
    for repeat in range(args.repeats):
        probabilities, thresholds = nested_cross_validated(
            rows,
            labels,
            args.folds,
            SEED + 101 * repeat,
            args.precision,
            names=names,
            trainable=trainable,
        )
        runs.append(answer_figures(probabilities >= thresholds, labels, queries))
    return _mean_figures(runs)


def example_folds(
    articles: Sequence[Any],
    embedders: Sequence[Embedder],
    queries: Sequence[Query],
    vectors: dict[str, np.ndarray[Any, Any]],
    folds: int,
    fusion: Fusion,
) -> list[list[Any]]:
    """Each message searched in an index that learnt the other folds' answerable messages as
    example questions of their article (as the product will from resolved conversations)."""
    results: list[list[Any]] = [[] for _ in queries]
    order = np.random.default_rng(SEED).permutation(len(queries))
    for fold in range(folds):
        test = order[fold::folds]
        index = KnowledgeIndex([e for e in embedders if e.name != "e5q"])
        index.add_articles(articles)
        for i in np.setdiff1d(order, test):
            query = queries[i]
            if query.article_id:
                index.add_example(query.article_id, query.text, query.language)
        for i in test:
            results[i] = index.search(
                queries[i].text,
                queries[i].language,
                5,
                fusion=fusion,
                query_vectors={name: v[i] for name, v in vectors.items()},
            )
    return results


def dev_folds(path: Path, queries: Sequence[Query], folds: int) -> list[int]:
    """Each query's fold: the partition ``frontdesk eval --folds`` makes of the whole file
    (:func:`frontdesk.evaluation.run.plan_folds`, stratified by language, seeded)."""
    messages = load_messages(path)
    fold_of = {
        messages[i].id: fold
        for fold, positions in enumerate(plan_folds(messages, folds))
        for i in positions
    }
    return [fold_of[q.id] for q in queries]


def learned_search(
    articles: Sequence[Any],
    embedders: Sequence[Embedder],
    queries: Sequence[Query],
    vectors: dict[str, np.ndarray[Any, Any]],
    learn: Sequence[int],
    test: Sequence[int],
    fusion: Fusion,
) -> dict[int, list[Any]]:
    """Search ``test`` in an index that learnt ``learn`` as the product does from handled
    conversations: an answerable message is an example question of its article (the agent
    sent the link). The out-of-scope and needs_person ones the product stores as negative
    examples, which the index does not read."""
    index = KnowledgeIndex([e for e in embedders if e.name != "e5q"])
    index.add_articles(articles)
    for i in learn:
        query = queries[i]
        if query.article_id:
            index.add_example(query.article_id, query.text, query.language)
    return {
        i: index.search(
            queries[i].text,
            queries[i].language,
            5,
            fusion=fusion,
            query_vectors={name: v[i] for name, v in vectors.items()},
        )
        for i in test
    }


def learned_folds(
    articles: Sequence[Any],
    embedders: Sequence[Embedder],
    queries: Sequence[Query],
    vectors: dict[str, np.ndarray[Any, Any]],
    fold_of: Sequence[int],
    fusion: Fusion,
) -> list[list[Any]]:
    """Each message searched in an index that learnt the other folds' messages."""
    results: list[list[Any]] = [[] for _ in queries]
    for fold in sorted(set(fold_of)):
        test = [i for i, f in enumerate(fold_of) if f == fold]
        learn = [i for i, f in enumerate(fold_of) if f != fold]
        found = learned_search(articles, embedders, queries, vectors, learn, test, fusion)
        for i, hits in found.items():
            results[i] = hits
    return results


@dataclass
class LearnedCalibration:
    """The rows the calibration and its two thresholds come from (:func:`history_thresholds`):
    every message twice, searched without history (``nolearn``) and with the other folds learnt
    (``learned``); and, for the nested figures, each outer fold's training rows computed without
    that fold (inner k-fold)."""

    queries: Sequence[Query]
    fold_of: Sequence[int]
    nolearn: list[dict[str, float]]
    nolearn_labels: list[int]
    learned: list[dict[str, float]]
    learned_labels: list[int]
    # outer fold -> (rows, labels, row_fold, is_learned) of the other folds
    inner: dict[int, tuple[list[dict[str, float]], list[int], list[int], list[bool]]]
    trainable: Sequence[bool]  # the messages the calibration is fitted on


def _predict(
    train_rows: Sequence[dict[str, float]],
    train_labels: Sequence[int],
    rows: Sequence[dict[str, float]],
    names: Sequence[str],
    l2: float,
) -> np.ndarray[Any, Any]:
    every = [*train_rows, *rows]
    return _fit_predict(
        every,
        [*train_labels, *([0] * len(rows))],
        np.arange(len(train_rows)),
        np.arange(len(train_rows), len(every)),
        names,
        l2,
    )


def history_thresholds(
    cal: LearnedCalibration,
    names: Sequence[str],
    l2: float,
    precision: float,
    exclude: int | None = None,
) -> tuple[float, float]:
    """(threshold, learned_threshold) of the model fitted on the messages searched without
    history: each the lowest keeping ``precision`` on out-of-fold probabilities (the model
    fitted on the other folds' rows without history), the first on the rows without history,
    the second on the rows with the other folds learnt. ``exclude``: an outer fold left out
    entirely (its learned rows then come from ``cal.inner``, computed without it)."""
    folds = [f for f in sorted(set(cal.fold_of)) if f != exclude]
    keep = [i for i, t in enumerate(cal.trainable) if t and cal.fold_of[i] != exclude]
    oof_plain: list[float] = []
    plain_labels: list[int] = []
    oof_learned: list[float] = []
    learned_labels: list[int] = []
    if exclude is not None:
        inner_rows, inner_labels, inner_fold, inner_learned = cal.inner[exclude]
    for fold in folds:
        train = [i for i in keep if cal.fold_of[i] != fold]
        test = [i for i in keep if cal.fold_of[i] == fold]
        train_rows = [cal.nolearn[i] for i in train]
        train_labels = [cal.nolearn_labels[i] for i in train]
        oof_plain += list(
            _predict(train_rows, train_labels, [cal.nolearn[i] for i in test], names, l2)
        )
        plain_labels += [cal.nolearn_labels[i] for i in test]
        if exclude is None:
            learned_rows = [cal.learned[i] for i in test]
            labels = [cal.learned_labels[i] for i in test]
        else:
            chosen = [
                j
                for j, (f, is_learned) in enumerate(zip(inner_fold, inner_learned, strict=True))
                if f == fold and is_learned
            ]
            learned_rows = [inner_rows[j] for j in chosen]
            labels = [inner_labels[j] for j in chosen]
        oof_learned += list(_predict(train_rows, train_labels, learned_rows, names, l2))
        learned_labels += labels
    return (
        choose_threshold(np.array(oof_plain), plain_labels, precision),
        choose_threshold(np.array(oof_learned), learned_labels, precision),
    )


def history_nested(
    cal: LearnedCalibration, names: Sequence[str], l2: float, precision: float
) -> dict[str, Any]:
    """The shipped calibration (the model on the rows without history, two thresholds) with
    nothing learnt from the scored message: for each outer fold
    the model and both thresholds come from the other folds (their learned rows computed
    without the outer fold), then the outer fold is scored with and without history."""
    n = len(cal.queries)
    answered = {"learned": np.zeros(n, dtype=bool), "nolearn": np.zeros(n, dtype=bool)}
    thresholds = []
    for fold in sorted(set(cal.fold_of)):
        threshold, learned_threshold = history_thresholds(cal, names, l2, precision, fold)
        thresholds.append((round(threshold, 4), round(learned_threshold, 4)))
        train = [i for i in range(n) if cal.trainable[i] and cal.fold_of[i] != fold]
        test = [i for i in range(n) if cal.fold_of[i] == fold]
        train_rows = [cal.nolearn[i] for i in train]
        train_labels = [cal.nolearn_labels[i] for i in train]
        for regime, rows, cut in (
            ("learned", cal.learned, learned_threshold),
            ("nolearn", cal.nolearn, threshold),
        ):
            probabilities = _predict(train_rows, train_labels, [rows[i] for i in test], names, l2)
            answered[regime][np.array(test)] = probabilities >= cut
    return {
        "learned": answer_figures(answered["learned"], cal.learned_labels, cal.queries),
        "nolearn": answer_figures(answered["nolearn"], cal.nolearn_labels, cal.queries),
        "thresholds": thresholds,
    }


def learned_calibration(
    articles: Sequence[Any],
    embedders: Sequence[Embedder],
    queries: Sequence[Query],
    vectors: dict[str, np.ndarray[Any, Any]],
    fold_of: Sequence[int],
    nolearn_results: Sequence[Sequence[Any]],
    fusion: Fusion,
    trainable: np.ndarray[Any, Any],
) -> LearnedCalibration:
    learned_results = learned_folds(articles, embedders, queries, vectors, fold_of, fusion)
    nolearn = [features(h) for h in nolearn_results]
    nolearn_labels = labels_for(queries, nolearn_results)
    inner: dict[int, tuple[list[dict[str, float]], list[int], list[int], list[bool]]] = {}
    folds = sorted(set(fold_of))
    for outer in folds:
        rows: list[dict[str, float]] = []
        labels: list[int] = []
        row_fold: list[int] = []
        learned: list[bool] = []
        for fold in folds:
            if fold == outer:
                continue
            test = [i for i, f in enumerate(fold_of) if f == fold and trainable[i]]
            learn = [i for i, f in enumerate(fold_of) if f not in (fold, outer)]
            found = learned_search(articles, embedders, queries, vectors, learn, test, fusion)
            for i in test:
                rows += [features(found[i]), nolearn[i]]
                labels += [labels_for([queries[i]], [found[i]])[0], nolearn_labels[i]]
                row_fold += [fold, fold]
                learned += [True, False]
        inner[outer] = (rows, labels, row_fold, learned)
    return LearnedCalibration(
        queries=queries,
        fold_of=fold_of,
        nolearn=nolearn,
        nolearn_labels=nolearn_labels,
        learned=[features(h) for h in learned_results],
        learned_labels=labels_for(queries, learned_results),
        inner=inner,
        trainable=[bool(t) for t in trainable],
    )


def labels_for(queries: Sequence[Query], results: Sequence[Sequence[Any]]) -> list[int]:
    """Answerable → 1 when the top hit is right; out of scope and needs_person → 0."""
    return [
        int(bool(h) and h[0].article_id == q.article_id) if q.article_id else 0
        for q, h in zip(queries, results, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HELIOS)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument(
        "--fit", action="store_true", help=f"write the calibration to {PARAMS_PATH.name}"
    )
    parser.add_argument(
        "--precision", type=float, default=0.95, help="answer precision the threshold keeps"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--repeats", type=int, default=5, help="shuffles of the folds the CV figures average"
    )
    parser.add_argument(
        "--no-needs-person-training",
        action="store_true",
        help="fit the calibration without the needs_person messages (they are still scored)",
    )
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    console = Console(stderr=args.json, width=170)
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    console.print(f"[bold]$ {command}[/]")
    started = time.perf_counter()

    articles, errors = load_articles(args.data / "kb")
    for error in errors:
        console.print(f"[yellow]skipped[/] {error}")
    answerable, oos, needs_person = load_queries(args.data / "dev.jsonl")
    queries = answerable + oos + needs_person

    def cached(embedder: Embedder) -> Embedder:
        if args.no_cache:
            return embedder
        return CachedEmbedder(embedder, RESULTS / f"embeddings-{embedder.name}.npz")

    embedders = [
        cached(E5Embedder()),
        cached(E5Embedder(document_prefix="query")),
        cached(UseEmbedder()),
    ]
    indexes = {
        "passages": KnowledgeIndex(embedders),
        "articles": KnowledgeIndex(
            [e for e in embedders if e.name != "e5q"], config=IndexConfig(unit="article")
        ),
    }
    with Progress(console=console, transient=True) as progress:
        for name, index in indexes.items():
            task = progress.add_task(f"indexing {name}", total=len(articles))
            for article in articles:
                index.upsert_article(article)
                progress.advance(task)
        task = progress.add_task("embedding queries", total=len(embedders))
        vectors: dict[str, np.ndarray[Any, Any]] = {}
        for embedder in embedders:
            vectors[embedder.name] = embedder.embed_queries([q.text for q in queries])
            progress.advance(task)
    if "e5" in vectors:
        vectors["e5q"] = vectors["e5"]  # the same query vector ('query:' prefix either way)

    trainable = np.array(
        [not args.no_needs_person_training or q.reason != "needs_person" for q in queries],
        dtype=bool,
    )

    def confidence_row(results: list[list[Any]]) -> dict[str, Any]:
        rows = [features(hits) for hits in results]
        figures = honest_figures(
            rows, labels_for(queries, results), queries, args, trainable=trainable
        )
        return {k: v for k, v in figures.items() if k != "by_language"}

    rows: list[dict[str, Any]] = []
    default_results: list[list[Any]] = []
    for name, index_name, fusion in ablations():
        summary, results = evaluate(indexes[index_name], fusion, queries, vectors)
        rows.append({"configuration": name, **summary, "confidence": confidence_row(results)})
        if name == DEFAULT:
            default_results = results
    # Example questions learnt from the other folds' answerable messages (k-fold).
    for name, fusion in (
        ("default + examples from other folds", Fusion()),
        ("  … examples inside the passages' max", Fusion(kinds=frozenset({"passage", "example"}))),
    ):
        results = example_folds(articles, embedders, queries, vectors, args.folds, fusion)
        rows.append(
            {
                "configuration": name,
                **summarize(queries, results),
                "confidence": confidence_row(results),
            }
        )

    # What the product learns from handled conversations (the eval's --folds partition):
    # every message searched without history and with the other folds' example questions
    # learnt; the shipped model is fitted on the rows without history, with a second threshold
    # for the rows with history (history_thresholds).
    fold_of = dev_folds(args.data / "dev.jsonl", queries, args.folds)
    calibration = learned_calibration(
        articles, embedders, queries, vectors, fold_of, default_results, Fusion(), trainable
    )
    learned_results = learned_folds(articles, embedders, queries, vectors, fold_of, Fusion())
    rows.append(
        {
            "configuration": "default + learned from other folds (examples)",
            **summarize(queries, learned_results),
            "confidence": confidence_row(learned_results),
        }
    )
    results = learned_folds(
        articles, embedders, queries, vectors, fold_of, Fusion(example_hubness=False)
    )
    rows.append(
        {
            "configuration": "  … without the examples' hubness correction",
            **summarize(queries, results),
            "confidence": confidence_row(results),
        }
    )
    for embedder in embedders:
        if isinstance(embedder, CachedEmbedder):
            embedder.save()
    default = next(r for r in rows if r["configuration"] == DEFAULT)

    # Confidence on the default configuration.
    feature_rows = [features(hits) for hits in default_results]
    labels = labels_for(queries, default_results)
    cv = honest_figures(feature_rows, labels, queries, args, trainable=trainable)
    cv["oos_auroc"] = auroc(
        *[
            [p for p, q in zip(oof, queries, strict=True) if q.reason == reason]
            for oof in [
                cross_validated(feature_rows, labels, args.folds, SEED, trainable=trainable)
            ]
            for reason in ("answerable", "out_of_scope")
        ]
    )
    # What each calibration feature adds: the same nested CV without it.
    feature_ablation = []
    for dropped in ("none", *FEATURES):
        names = [n for n in FEATURES if n != dropped]
        figures = honest_figures(
            feature_rows, labels, queries, args, names=names, trainable=trainable
        )
        feature_ablation.append(
            {"without": dropped, **{k: v for k, v in figures.items() if k != "by_language"}}
        )
    legacy = honest_figures(
        feature_rows,
        labels,
        queries,
        args,
        names=["fused", "margin", "e5", "use", "use_active", "agreement", "bm25_z"],
        trainable=trainable,
    )
    feature_ablation.append(
        {
            "without": "(earlier feature set)",
            **{k: v for k, v in legacy.items() if k != "by_language"},
        }
    )

    # The shipped model: fitted on all of dev searched without history; its threshold chosen on
    # its out-of-fold probabilities (the figures above are the nested ones, which never saw the
    # scored message). A second threshold for a workspace with learned example questions (they
    # take part in the fused score and shift the probabilities): the same rule, on the
    # out-of-fold probabilities of the dev messages searched with the other folds learnt.
    fit_rows = [r for r, t in zip(feature_rows, trainable, strict=True) if t]
    fit_labels = [y for y, t in zip(labels, trainable, strict=True) if t]
    oof = cross_validated(fit_rows, fit_labels, args.folds, SEED)
    threshold = choose_threshold(oof, fit_labels, args.precision)
    _, learned_threshold = history_thresholds(calibration, FEATURES, L2, args.precision)
    nested = history_nested(calibration, FEATURES, L2, args.precision)
    fitted = Confidence.fit(
        fit_rows,
        fit_labels,
        threshold=threshold,
        l2=L2,
        notes={
            "fitted_on": "helios dev.jsonl: answerable (label: top-1 right) + out_of_scope (label 0)"
            + ("" if args.no_needs_person_training else " + needs_person (label 0)")
            + ", those no guardrail stops",
            "threshold_rule": f"lowest with answer precision >= {args.precision} on {args.folds}-fold out-of-fold probabilities",
            "learned_threshold_rule": f"the same, on the dev messages searched with the other {args.folds - 1} of {args.folds} folds learnt (the partition of frontdesk eval --folds; answerable ones as example questions)",
            "l2": L2,
            "fitted_at": dt.datetime.now(dt.UTC).date().isoformat(),
            "nested_cross_validated": {k: v for k, v in cv.items() if k != "by_language"},
            "nested_cross_validated_with_history": {
                regime: {k: v for k, v in nested[regime].items() if k != "by_language"}
                for regime in ("learned", "nolearn")
            },
            "command": command,
        },
    )
    fitted.learned_threshold = learned_threshold
    if args.fit:
        PARAMS_PATH.write_text(fitted.to_json(), encoding="utf-8")
        console.print(f"wrote {PARAMS_PATH.relative_to(ROOT)}")
    shipped = Confidence.load() if PARAMS_PATH.exists() else fitted
    shipped_probs = np.array([shipped.probability(h) for h in default_results])
    in_sample = answer_figures(shipped_probs >= shipped.threshold, labels, queries)
    learned_probs = np.array([shipped.probability(h) for h in learned_results])
    in_sample_learned = answer_figures(
        learned_probs >= (shipped.learned_threshold or shipped.threshold),
        labels_for(queries, learned_results),
        queries,
    )

    # Latency: the real path, query embedding by both models included (models already loaded).
    live = KnowledgeIndex([E5Embedder(), UseEmbedder()])
    live.add_articles(articles)  # recomputes document vectors: also measures a cold build
    latencies = []
    for query in queries:
        t0 = time.perf_counter()
        hits = live.search(query.text, query.language, 5)
        shipped.is_confident(hits)
        latencies.append((time.perf_counter() - t0) * 1000)
    changed = next(a for a in articles if a.id == "inverter-error-codes" and a.language == "en")
    t0 = time.perf_counter()
    live.upsert_article(changed)
    update_ms = (time.perf_counter() - t0) * 1000
    # with the whole dev file learnt (what --learn dev.jsonl gives the unseen split)
    for query in queries:
        if query.article_id:
            live.add_example(query.article_id, query.text, query.language)
    live.search("hello", "en", 5)  # the first search after a change rebuilds: not counted
    learned_latencies = []
    for query in queries:
        t0 = time.perf_counter()
        hits = live.search(query.text, query.language, 5)
        shipped.is_confident(hits)
        learned_latencies.append((time.perf_counter() - t0) * 1000)

    report = {
        "command": command,
        "articles": len(articles),
        "passages": sum(1 for _ in indexes["passages"]._matrices().units if _.kind == "passage"),
        "answerable_queries": len(answerable),
        "oos_queries": len(oos),
        "needs_person_queries": len(needs_person),
        "top1": default["top1"],
        "top3": default["top3"],
        "by_language": default["by_language"],
        "oos_auroc_top_score": default["oos_auroc_top_score"],
        "confidence_nested_cv": cv,
        "confidence_feature_ablation": feature_ablation,
        "confidence_shipped_in_sample": {**in_sample, "threshold": round(shipped.threshold, 4)},
        "confidence_shipped_in_sample_learned": {
            **in_sample_learned,
            "learned_threshold": shipped.learned_threshold,
        },
        "confidence_nested_learned": nested,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(float(np.percentile(latencies, 95)), 1),
            "reindex_one_article": round(update_ms, 1),
            "p50_with_history": round(statistics.median(learned_latencies), 1),
            "p95_with_history": round(float(np.percentile(learned_latencies, 95)), 1),
        },
        "ablation": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0

    def fmt(value: Any) -> str:
        return "—" if value is None else f"{value:.2f}"

    table = Table(
        title=f"Helios dev: {len(answerable)} answerable, {len(oos)} out of scope, "
        f"{len(needs_person)} needs_person; confidence: nested {args.folds}-fold CV × {args.repeats}"
    )
    table.add_column("configuration")
    for column in ("top-1", "top-3", *LANGUAGES, "OOS AUROC", "prec", "cover", "OOS ans", "NP ans"):
        table.add_column(column, justify="right")
    for row in rows:
        auc = row["oos_auroc_top_score"]
        conf = row["confidence"]
        table.add_row(
            row["configuration"],
            f"{row['top1']:.3f}",
            f"{row['top3']:.3f}",
            *(f"{row['by_language'].get(lang, 0):.2f}" for lang in LANGUAGES),
            "—" if auc is None else f"{auc:.3f}",
            fmt(conf["answer_precision"]),
            fmt(conf["answer_coverage"]),
            fmt(conf["oos_false_answer_rate"]),
            fmt(conf["needs_person_false_answer_rate"]),
        )
    console.print(table)

    per_language = Table(
        title="Confidence on the default, nested CV (the bars: precision ≥ 0.95 / 0.90 per language, coverage ≥ 0.75 / 0.65, OOS answers ≤ 0.02)"
    )
    per_language.add_column("")
    for column in ("all", *LANGUAGES):
        per_language.add_column(column, justify="right")
    for key, label in (
        ("answer_precision", "answer precision"),
        ("answer_precision_with_needs_person", "  … counting needs_person"),
        ("answer_coverage", "answer coverage"),
        ("oos_false_answer_rate", "OOS false answers"),
        ("needs_person_false_answer_rate", "needs_person false answers"),
    ):
        per_language.add_row(
            label,
            fmt(cv[key]),
            *(fmt(cv["by_language"].get(lang, {}).get(key)) for lang in LANGUAGES),
        )
    console.print(per_language)

    ablation = Table(title="What each calibration feature adds (nested CV without it)")
    for column in ("without", "prec", "prec+NP", "cover", "OOS ans", "NP ans"):
        ablation.add_column(column, justify="right")
    for row in feature_ablation:
        ablation.add_row(
            row["without"],
            fmt(row["answer_precision"]),
            fmt(row["answer_precision_with_needs_person"]),
            fmt(row["answer_coverage"]),
            fmt(row["oos_false_answer_rate"]),
            fmt(row["needs_person_false_answer_rate"]),
        )
    console.print(ablation)
    console.print(f"confidence OOS AUROC (out-of-fold): {fmt(cv['oos_auroc'])}")
    console.print(
        f"confidence shipped ({PARAMS_PATH.name}, threshold {shipped.threshold:.4f}), in-sample: "
        f"{json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in in_sample.items() if k != 'by_language'})}"
    )
    console.print(
        f"confidence shipped, in-sample with the other folds learnt: "
        f"{json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in in_sample_learned.items() if k != 'by_language'})}"
    )
    console.print(
        f"latency ms: {json.dumps(report['latency_ms'])}; whole run {report['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

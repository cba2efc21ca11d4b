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

from frontdesk.knowledge.articles import load_articles
from frontdesk.knowledge.confidence import PARAMS_PATH, Confidence, features
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


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    language: str
    article_id: str | None  # None: out of scope


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return float(wins / (len(positives) * len(negatives)))


def load_queries(path: Path) -> tuple[list[Query], list[Query]]:
    answerable: list[Query] = []
    oos: list[Query] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        expected = row["expected"]
        if expected["action"] == "answer":
            answerable.append(
                Query(row["id"], row["text"], row["language"], expected["article_id"])
            )
        elif expected.get("reason") == "out_of_scope":
            oos.append(Query(row["id"], row["text"], row["language"], None))
    return answerable, oos


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
        ("default + titles", "passages", Fusion(kinds=ALL_KINDS)),
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
    answerable = [(q, h) for q, h in zip(queries, results, strict=True) if q.article_id]
    oos = [h for q, h in zip(queries, results, strict=True) if not q.article_id]
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
    summary = {
        "top1": round(float(np.mean(top1)), 3),
        "top3": round(float(np.mean(top3)), 3),
        "by_language": by_language,
        "oos_auroc_top_score": auroc(
            [h[0].score for _, h in answerable if h], [h[0].score for h in oos if h]
        ),
    }
    return summary, results


def cross_validated(
    rows: list[dict[str, float]], labels: list[int], languages: list[str], folds: int, seed: int = 7
) -> np.ndarray[Any, Any]:
    order = np.random.default_rng(seed).permutation(len(rows))
    oof = np.zeros(len(rows))
    for fold in range(folds):
        test = order[fold::folds]
        train = np.setdiff1d(order, test)
        model = Confidence.fit([rows[i] for i in train], [labels[i] for i in train], threshold=0.5)
        x = np.array([[rows[i][n] for n in model.feature_names] for i in test])
        z = (x - np.array(model.mean)) / np.array(model.scale) @ np.array(
            model.coefficients
        ) + model.intercept
        oof[test] = 1.0 / (1.0 + np.exp(-z))
    return oof


def choose_threshold(
    probabilities: np.ndarray[Any, Any], labels: list[int], precision: float
) -> float:
    """The lowest threshold whose answers (p ≥ t) keep ``precision``; 1.0 if none does."""
    y = np.array(labels)
    for t in sorted(set(np.round(probabilities, 4))):
        answered = probabilities >= t
        if answered.sum() >= 3 and float(y[answered].mean()) >= precision:
            return float(t)
    return 1.0


def answer_figures(
    probabilities: np.ndarray[Any, Any],
    labels: list[int],
    queries: Sequence[Query],
    threshold: float,
) -> dict[str, Any]:
    answered = probabilities >= threshold
    y = np.array(labels)
    is_oos = np.array([q.article_id is None for q in queries])

    def figures(mask: np.ndarray[Any, Any]) -> dict[str, Any]:
        answerable = mask & ~is_oos
        sel = answered & mask
        return {
            "answer_precision": round(float(y[sel].mean()), 3) if sel.any() else None,
            "answer_coverage": round(
                float((answered & answerable & (y == 1)).sum() / max(answerable.sum(), 1)), 3
            ),
            "oos_false_answer_rate": round(
                float((answered & mask & is_oos).sum() / max((mask & is_oos).sum(), 1)), 3
            ),
        }

    out = figures(np.ones(len(queries), dtype=bool))
    out["by_language"] = {
        lang: figures(np.array([q.language == lang for q in queries]))
        for lang in LANGUAGES
        if any(q.language == lang for q in queries)
    }
    return out


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
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    console = Console(stderr=args.json, width=170)
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    console.print(f"[bold]$ {command}[/]")
    started = time.perf_counter()

    articles, errors = load_articles(args.data / "kb")
    for error in errors:
        console.print(f"[yellow]skipped[/] {error}")
    answerable, oos = load_queries(args.data / "dev.jsonl")
    queries = answerable + oos

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
    for embedder in embedders:
        if isinstance(embedder, CachedEmbedder):
            embedder.save()

    rows: list[dict[str, Any]] = []
    default_results: list[list[Any]] = []
    for name, index_name, fusion in ablations():
        summary, results = evaluate(indexes[index_name], fusion, queries, vectors)
        rows.append({"configuration": name, **summary})
        if name == DEFAULT:
            default_results = results
    default = next(r for r in rows if r["configuration"] == DEFAULT)

    # Confidence: answerable → 1 when the top hit is right; out of scope → 0.
    feature_rows = [features(hits) for hits in default_results]
    labels = [
        int(bool(h) and h[0].article_id == q.article_id) if q.article_id else 0
        for q, h in zip(queries, default_results, strict=True)
    ]
    languages = [q.language for q in queries]
    oof = cross_validated(feature_rows, labels, languages, args.folds)
    threshold = choose_threshold(oof, labels, args.precision)
    cv = answer_figures(oof, labels, queries, threshold)
    cv["threshold"] = round(threshold, 4)
    cv["oos_auroc"] = auroc(
        [p for p, q in zip(oof, queries, strict=True) if q.article_id],
        [p for p, q in zip(oof, queries, strict=True) if not q.article_id],
    )
    fitted = Confidence.fit(
        feature_rows,
        labels,
        threshold=threshold,
        notes={
            "fitted_on": "helios dev.jsonl: answerable (label: top-1 right) + out_of_scope (label 0)",
            "threshold_rule": f"lowest with answer precision >= {args.precision} on {args.folds}-fold out-of-fold probabilities",
            "fitted_at": dt.datetime.now(dt.UTC).date().isoformat(),
            "cross_validated": {k: v for k, v in cv.items() if k != "by_language"},
            "command": command,
        },
    )
    if args.fit:
        PARAMS_PATH.write_text(fitted.to_json(), encoding="utf-8")
        console.print(f"wrote {PARAMS_PATH.relative_to(ROOT)}")
    shipped = Confidence.load() if PARAMS_PATH.exists() else fitted
    shipped_probs = np.array([shipped.probability(h) for h in default_results])
    in_sample = answer_figures(shipped_probs, labels, queries, shipped.threshold)

    # Latency: the real path, query embedding by both models included (models already loaded).
    live = KnowledgeIndex([E5Embedder(), UseEmbedder()])
    live.add_articles(articles)  # recomputes document vectors: also measures a cold build
    latencies = []
    for query in queries:
        t0 = time.perf_counter()
        live.search(query.text, query.language, 5)
        latencies.append((time.perf_counter() - t0) * 1000)
    changed = next(a for a in articles if a.id == "inverter-error-codes" and a.language == "en")
    t0 = time.perf_counter()
    live.upsert_article(changed)
    update_ms = (time.perf_counter() - t0) * 1000

    report = {
        "command": command,
        "articles": len(articles),
        "passages": sum(1 for _ in indexes["passages"]._matrices().units if _.kind == "passage"),
        "answerable_queries": len(answerable),
        "oos_queries": len(oos),
        "top1": default["top1"],
        "top3": default["top3"],
        "by_language": default["by_language"],
        "oos_auroc_top_score": default["oos_auroc_top_score"],
        "confidence_cross_validated": cv,
        "confidence_shipped_in_sample": {**in_sample, "threshold": round(shipped.threshold, 4)},
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(float(np.percentile(latencies, 95)), 1),
            "reindex_one_article": round(update_ms, 1),
        },
        "ablation": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0

    table = Table(title=f"Helios dev: {len(answerable)} answerable, {len(oos)} out of scope")
    table.add_column("configuration")
    for column in ("top-1", "top-3", *LANGUAGES, "OOS AUROC"):
        table.add_column(column, justify="right")
    for row in rows:
        auc = row["oos_auroc_top_score"]
        table.add_row(
            row["configuration"],
            f"{row['top1']:.3f}",
            f"{row['top3']:.3f}",
            *(f"{row['by_language'].get(lang, 0):.2f}" for lang in LANGUAGES),
            "—" if auc is None else f"{auc:.3f}",
        )
    console.print(table)
    console.print(
        f"confidence, {args.folds}-fold CV on dev: {json.dumps({k: v for k, v in cv.items() if k != 'by_language'})}"
    )
    console.print(f"  per language: {json.dumps(cv['by_language'])}")
    console.print(
        f"confidence shipped ({PARAMS_PATH.name}), in-sample: {json.dumps({k: v for k, v in in_sample.items() if k != 'by_language'})}"
    )
    console.print(
        f"latency ms: {json.dumps(report['latency_ms'])}; whole run {report['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Learned-routing benchmark on Helios (../shared/data/helios/dev.jsonl): k-fold.

Each labelled dev message stands for a past conversation (its text, channel, customer, labelled
team and priority). The messages are dealt into ``--folds`` folds (stratified by team, grouped
by text so the same message is never on both sides); the router
(:func:`frontdesk.routing.learned.fit_router`, the same code ``frontdesk router train`` runs,
including its own inner cross-validation for C and the temperature) is trained on the other
folds and predicts each held-out message. Repeated over ``--repeats`` shuffles.

Reported, overall and per language:

* ``team_accuracy``: the predicted team (argmax) is the labelled one;
* ``routed_team_accuracy``: what routing would do, a team when the calibrated confidence is at
  least the (cross-validated) threshold and triage otherwise, against the label (``triage``
  labels included);
* ``coverage``: share routed with confidence; ``triage_rate_in_scope`` (the issue's figure):
  share of the in-scope hand-offs (labelled handoff, not out of scope, labelled with a team
  other than triage) that would go to triage (below the threshold or triage predicted); a
  message labelled triage (a human request or a frustrated message without a topic) is
  unclear, and triage is right for it;
* ``triage_rate_handoffs``: the same, of every hand-off not out of scope (what this benchmark
  called ``triage_rate_in_scope`` before 2026-12-01);
* ``priority_accuracy``, and the majority-label baselines of both;
* an ablation: e5, USE or both; with or without the customer/text signals; with or without
  the knowledge-base articles as weak team examples (an article's team is the majority team of
  the training messages labelled with it, what the product learns from resolved
  conversations); with or without the teams' descriptions (``teams.json``) as weak examples.

    .venv/bin/python benchmarks/routing.py [--json] [--folds 5] [--repeats 3]

Query vectors are cached under benchmarks/results/ (gitignored; benchmark data only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from frontdesk.evaluation.helios import LabelledMessage, load_customers, load_messages
from frontdesk.knowledge.articles import load_articles
from frontdesk.knowledge.embedders import CachedEmbedder, E5Embedder, Embedder, UseEmbedder
from frontdesk.routing.classifier import fold_ids
from frontdesk.routing.features import SIGNALS, signal_features
from frontdesk.routing.learned import (
    ROUTE_THRESHOLD,
    Example,
    description_examples,
    familiarity_factor,
    fit_router,
    kb_text,
    team_decision,
)

ROOT = Path(__file__).resolve().parents[1]
HELIOS = ROOT.parent / "shared" / "data" / "helios"
RESULTS = ROOT / "benchmarks" / "results"
LANGUAGES = ("en", "th", "el", "zh", "id", "es", "de")

SIGNALS_FOR_PRIORITY = {"team": ("embeddings",), "priority": ("embeddings", "signals")}
VARIANTS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]], bool, bool]] = {
    # name: (embedders, features per kind, KB articles / team descriptions as weak examples)
    "e5 + USE, signals for priority, KB articles, descriptions = default": (
        ("e5", "use"),
        SIGNALS_FOR_PRIORITY,
        True,
        True,
    ),
    "without the team descriptions": (("e5", "use"), SIGNALS_FOR_PRIORITY, True, False),
    "without the KB articles": (("e5", "use"), SIGNALS_FOR_PRIORITY, False, True),
    "signals for the team too": (
        ("e5", "use"),
        {"team": ("embeddings", "signals"), "priority": ("embeddings", "signals")},
        True,
        True,
    ),
    "no signals": (
        ("e5", "use"),
        {"team": ("embeddings",), "priority": ("embeddings",)},
        True,
        True,
    ),
    "e5 only": (("e5",), SIGNALS_FOR_PRIORITY, True, True),
    "USE only": (("use",), SIGNALS_FOR_PRIORITY, True, True),
}
DEFAULT = next(iter(VARIANTS))


def examples_of(messages: Sequence[LabelledMessage], customers: dict[str, Any]) -> list[Example]:
    return [
        Example(
            text=m.text,
            channel=m.channel,
            attributes=customers.get(m.customer_id or "", {}),
            team=m.expected.team,
            priority=m.expected.priority,
            category=None,
            language=m.language,
        )
        for m in messages
    ]


def _share(flags: Sequence[bool]) -> float | None:
    return float(np.mean(flags)) if flags else None


def figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    handoffs = [r for r in rows if r["in_scope_handoff"]]
    # the definition: a message labelled triage (unclear: a human request or anger
    # without a topic) is not in scope, and triage is its right destination
    in_scope = [r for r in handoffs if r["true_team"] != "triage"]
    return {
        "messages": len(rows),
        "team_accuracy": _share([r["team"] == r["true_team"] for r in rows]),
        "routed_team_accuracy": _share([r["routed"] == r["true_team"] for r in rows]),
        "coverage": _share([r["confident"] for r in rows]),
        "triage_rate_in_scope": _share([r["routed"] == "triage" for r in in_scope]),
        # the figure this benchmark reported before 2026-12-01: hand-offs labelled triage too
        "triage_rate_handoffs": _share([r["routed"] == "triage" for r in handoffs]),
        "priority_accuracy": _share([r["priority"] == r["true_priority"] for r in rows]),
    }


def run_variant(
    examples: Sequence[Example],
    messages: Sequence[LabelledMessage],
    vectors: dict[str, np.ndarray[Any, Any]],
    embedders: dict[str, Embedder],
    names: tuple[str, ...],
    kind_features: dict[str, tuple[str, ...]],
    *,
    folds: int,
    repeats: int,
    kb: Sequence[tuple[str, str]] = (),
    kb_vectors: dict[str, np.ndarray[Any, Any]] | None = None,
    descriptions: Sequence[tuple[str, str]] = (),
    description_vectors: dict[str, np.ndarray[Any, Any]] | None = None,
) -> list[dict[str, Any]]:
    matrix = np.hstack([vectors[n] for n in names])
    models_in = [embedders[n] for n in names]
    signals = np.array([signal_features(e.text, e.channel, e.attributes) for e in examples])
    groups = [" ".join(e.text.lower().split()) for e in examples]
    rows: list[dict[str, Any]] = []
    for repeat in range(repeats):
        assignment = fold_ids([e.team for e in examples], folds, groups=groups, seed=100 + repeat)
        for fold in range(folds):
            test = np.flatnonzero(assignment == fold)
            train = np.flatnonzero(assignment != fold)
            weak: list[Example] = []
            weak_rows: list[int] = []
            if kb and kb_vectors is not None:
                # what the product knows: the team of the conversations an article resolved
                votes: dict[str, dict[str, int]] = {}
                for i in train:
                    m = messages[int(i)]
                    if m.expected.action == "answer" and m.expected.article_id and m.expected.team:
                        team_votes = votes.setdefault(m.expected.article_id, {})
                        team_votes[m.expected.team] = team_votes.get(m.expected.team, 0) + 1
                for row, (article_id, text) in enumerate(kb):
                    if article_id in votes:
                        team = max(votes[article_id], key=lambda t: votes[article_id][t])
                        weak.append(Example(text, None, {}, team, None, None))
                        weak_rows.append(row)
            weak_parts = (
                [np.hstack([kb_vectors[n] for n in names])[weak_rows]]
                if weak and kb_vectors is not None
                else []
            )
            if descriptions and description_vectors is not None:
                described = description_examples(descriptions)
                weak += described
                weak_parts.append(np.hstack([description_vectors[n] for n in names]))
            weak_matrix = np.vstack(weak_parts) if weak_parts else None
            models, _ = fit_router(
                [examples[int(i)] for i in train],
                models_in,
                vectors=matrix[train],
                kinds=("team", "priority"),
                kind_features=kind_features,
                weak=weak,
                weak_vectors=weak_matrix,
                triage_labels=("triage",),
            )
            for kind_name in ("team", "priority"):
                assert kind_name in models
            team_model, priority_model = models["team"], models["priority"]

            def features(spec: Sequence[str], index: np.ndarray[Any, Any]) -> Any:
                if "signals" in spec:
                    return np.hstack([matrix[index], signals[index]])
                return matrix[index]

            if kind_features["team"] == ("embeddings",):
                teams, confidences, thresholds = team_decision(
                    team_model,
                    models_in,
                    matrix[test],
                    [messages[int(i)].language for i in test],
                )
            else:
                team_probs = team_model.predict_proba(features(kind_features["team"], test))
                factor = familiarity_factor(team_model.extra.get("familiarity"), matrix[test])
                teams = [team_model.classes[int(k)] for k in team_probs.argmax(axis=1)]
                confidences = team_probs.max(axis=1) * factor
                thresholds = np.full(len(test), team_model.threshold)
            priority_probs = priority_model.predict_proba(features(kind_features["priority"], test))
            for j, i in enumerate(test):
                message = messages[int(i)]
                team = teams[j]
                confidence = float(confidences[j])
                confident = bool(confidence >= thresholds[j])
                rows.append(
                    {
                        "id": message.id,
                        "language": message.language,
                        "true_team": message.expected.team,
                        "true_priority": message.expected.priority,
                        "in_scope_handoff": message.expected.action == "handoff"
                        and message.expected.reason != "out_of_scope",
                        "team": team,
                        "confidence": confidence,
                        "threshold": float(thresholds[j]),
                        "confident": confident,
                        "routed": team if confident else "triage",
                        "priority": priority_model.classes[int(priority_probs[j].argmax())],
                    }
                )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HELIOS)
    parser.add_argument(
        "--default-only", action="store_true", help="skip the ablation (about 5x faster)"
    )
    args = parser.parse_args(argv)
    out = Console(stderr=args.json)

    customers = {c.id: c.attributes for c in load_customers(args.data / "customers.jsonl")}
    messages = load_messages(args.data / "dev.jsonl")
    examples = examples_of(messages, customers)
    embedders: dict[str, Embedder] = {"e5": E5Embedder(), "use": UseEmbedder()}
    vectors: dict[str, np.ndarray[Any, Any]] = {}
    timings: dict[str, float] = {}
    for name, embedder in embedders.items():
        cached = CachedEmbedder(embedder, RESULTS / f"routing-{name}.npz")
        started = time.perf_counter()
        vectors[name] = np.asarray(cached.embed_queries([e.text for e in examples]), np.float64)
        timings[f"embed_{name}_s"] = time.perf_counter() - started
        cached.save()

    articles, _ = load_articles(args.data / "kb")
    kb = [(a.translation_of or a.id, kb_text(a.title, a.body)) for a in articles]
    kb_vectors: dict[str, np.ndarray[Any, Any]] = {}
    for name, embedder in embedders.items():
        cached = CachedEmbedder(embedder, RESULTS / f"routing-{name}.npz")
        kb_vectors[name] = np.asarray(cached.embed_queries([t for _, t in kb]), np.float64)
        cached.save()

    team_records = json.loads((args.data / "teams.json").read_text(encoding="utf-8"))
    descriptions = [(str(t["id"]), str(t.get("description") or "")) for t in team_records]
    description_list = [w.text for w in description_examples(descriptions)]
    description_vectors: dict[str, np.ndarray[Any, Any]] = {}
    for name, embedder in embedders.items():
        cached = CachedEmbedder(embedder, RESULTS / f"routing-{name}.npz")
        description_vectors[name] = np.asarray(cached.embed_queries(description_list), np.float64)
        cached.save()

    results: dict[str, Any] = {}
    for variant, (names, kind_features, with_kb, with_descriptions) in VARIANTS.items():
        if args.default_only and variant != DEFAULT:
            continue
        started = time.perf_counter()
        rows = run_variant(
            examples,
            messages,
            vectors,
            embedders,
            names,
            kind_features,
            folds=args.folds,
            repeats=args.repeats,
            kb=kb if with_kb else (),
            kb_vectors=kb_vectors if with_kb else None,
            descriptions=descriptions if with_descriptions else (),
            description_vectors=description_vectors if with_descriptions else None,
        )
        result = figures(rows)
        result["by_language"] = {
            lang: figures([r for r in rows if r["language"] == lang]) for lang in LANGUAGES
        }
        result["thresholds"] = {
            "mean": float(np.mean([r["threshold"] for r in rows])),
            "min": float(np.min([r["threshold"] for r in rows])),
            "max": float(np.max([r["threshold"] for r in rows])),
        }
        result["seconds"] = time.perf_counter() - started
        results[variant] = result
    majority = {
        kind: max(
            {getattr(m.expected, kind) for m in messages},
            key=lambda v: sum(1 for m in messages if getattr(m.expected, kind) == v),
        )
        for kind in ("team", "priority")
    }
    baseline = {
        f"{kind}_accuracy": float(np.mean([getattr(m.expected, kind) == v for m in messages]))
        for kind, v in majority.items()
    }
    output = {
        "majority_baseline": {**baseline, "labels": majority},
        "folds": args.folds,
        "repeats": args.repeats,
        "default_threshold": ROUTE_THRESHOLD,  # the thresholds used: per variant, "thresholds"
        "signals": list(SIGNALS),
        "default": results[DEFAULT],
        "variants": results,
        "timings": timings,
    }
    if args.json:
        sys.stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
        return 0
    figure_names = [
        "team_accuracy",
        "routed_team_accuracy",
        "coverage",
        "triage_rate_in_scope",
        "triage_rate_handoffs",
        "priority_accuracy",
    ]

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.0f}"

    table = Table(title=f"learned router, {args.folds}-fold x {args.repeats} on helios dev (%)")
    table.add_column("figure")
    table.add_column("all", justify="right")
    for lang in LANGUAGES:
        table.add_column(lang, justify="right")
    default = results[DEFAULT]
    table.add_row(
        "messages",
        str(default["messages"] // args.repeats),
        *(str(default["by_language"][lang]["messages"] // args.repeats) for lang in LANGUAGES),
    )
    for name in figure_names:
        table.add_row(
            name,
            f"{default[name] * 100:.1f}",
            *(pct(default["by_language"][lang][name]) for lang in LANGUAGES),
        )
    out.print(table)
    ablation = Table(title="ablation (all languages, %)")
    ablation.add_column("variant")
    for name in figure_names:
        ablation.add_column(name.replace("_", " "), justify="right")
    for variant, result in results.items():
        ablation.add_row(variant, *(f"{result[n] * 100:.1f}" for n in figure_names))
    out.print(ablation)
    out.print(
        f"threshold chosen by cross-validation (mean {default['thresholds']['mean']:.2f}); "
        f"majority-label baseline: team "
        f"{baseline['team_accuracy'] * 100:.1f}% ({majority['team']}), priority "
        f"{baseline['priority_accuracy'] * 100:.1f}% ({majority['priority']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

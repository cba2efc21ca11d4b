"""How likely the top hit is the right article: a calibrated probability and a fitted threshold.

A logistic model over a few features of the search result (:func:`features`): the fused score
of the top hit and its margin over the second (per model used), each model's raw best cosine
for it, and how far each model alone puts it above every other article. It is fitted by
``benchmarks/retrieval.py --fit`` on the labelled dev messages (answerable ones: label 1 when
the top hit is the labelled article; out-of-scope and needs_person ones: label 0), and stored
as plain JSON next to this module (``confidence.json``): feature names, standardisation,
coefficients, and the threshold chosen on out-of-fold probabilities as the lowest that keeps
answer precision at the target. The figures in its notes are nested cross-validated (model and
threshold fitted without the scored message). Nothing is hand-set; refit after changing the
models or the fusion. :meth:`Confidence.explain` shows what drove one decision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from frontdesk.knowledge.index import Hit

__all__ = [
    "FEATURES",
    "PARAMS_PATH",
    "Confidence",
    "features",
    "fit_logistic",
]

PARAMS_PATH = Path(__file__).with_name("confidence.json")
# What the shipped model reads; measured by drop-one ablation in benchmarks/retrieval.py.
FEATURES = ("fused_n", "margin_n", "e5", "use", "use_active", "e5_gap", "use_gap", "bm25_z")
# Kept in ``features()`` so a confidence.json fitted on the earlier feature set still loads.
LEGACY_FEATURES = ("fused", "margin", "agreement")
EMBEDDERS = ("e5", "use")


def features(hits: Sequence[Hit]) -> dict[str, float]:
    """The calibration features of one search result (all zero when nothing was found).

    * ``fused_n``, ``margin_n``: the top fused score and its lead over the second, divided by
      the number of models that were used (USE is left out for Greek, so a Greek query has half
      the fused scale of the others);
    * ``e5``, ``use``: each model's raw best cosine for the top article (absolute similarity:
      what tells an out-of-scope message apart), ``use_active`` whether USE took part;
    * ``e5_gap``, ``use_gap``: under each model alone, how far the top article stands above
      every other article (z-score units; negative when that model prefers another article).
      When USE is off, ``use_gap`` repeats ``e5_gap``;
    * ``bm25_z``: the top article's BM25 relative to the best BM25 (identifiers, names);
    * ``fused``, ``margin``, ``agreement``: the earlier feature set (:data:`LEGACY_FEATURES`).

    Learned history is not a feature: the hit's ``history`` signal only picks the threshold
    (:meth:`Confidence.threshold_for`).
    """
    names = (*FEATURES, *LEGACY_FEATURES)
    if not hits:
        return dict.fromkeys(names, 0.0)
    top = hits[0].signals
    second = hits[1].score if len(hits) > 1 else hits[0].score - 1.0
    models = max(sum(1 for name in EMBEDDERS if name in top), 1)
    rank_keys = [key for key in top if key.endswith("_rank")]
    agreement = sum(1.0 for key in rank_keys if top[key] == 1.0) / max(len(rank_keys), 1)
    e5_gap = top.get("e5_gap", 0.0)
    return {
        "fused_n": hits[0].score / models,
        "margin_n": (hits[0].score - second) / models,
        "e5": top.get("e5", 0.0),
        "use": top.get("use", 0.0),
        "use_active": 1.0 if "use" in top else 0.0,
        "e5_gap": e5_gap,
        "use_gap": top.get("use_gap", e5_gap),
        "bm25_z": top.get("bm25_z", 0.0),
        "fused": hits[0].score,
        "margin": hits[0].score - second,
        "agreement": agreement,
    }


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.float64], *, l2: float = 1.0, iterations: int = 50
) -> tuple[NDArray[np.float64], float]:
    """Ridge-penalised logistic regression by Newton's method (x already standardised)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty * w
        hessian = (
            (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        )
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass
class Confidence:
    """A fitted calibration: ``probability(hits)`` and ``is_confident(hits)``."""

    feature_names: list[str]
    mean: list[float]
    scale: list[float]
    coefficients: list[float]
    intercept: float
    threshold: float
    notes: dict[str, Any] = field(default_factory=dict)
    # The threshold once the workspace has learned example questions (they take part in the
    # fused score, which shifts the probabilities): fitted on the dev messages searched with
    # the other folds learnt. None: the one threshold everywhere.
    learned_threshold: float | None = None

    def threshold_for(self, hits: Sequence[Hit]) -> float:
        """The threshold that applies to this search result (see ``learned_threshold``)."""
        if self.learned_threshold is not None and hits and hits[0].signals.get("history"):
            return self.learned_threshold
        return self.threshold

    def probability(self, hits: Sequence[Hit]) -> float:
        if not hits:
            return 0.0
        values = features(hits)
        z = self.intercept
        for name, mean, scale, coefficient in zip(
            self.feature_names, self.mean, self.scale, self.coefficients, strict=True
        ):
            z += coefficient * (values.get(name, 0.0) - mean) / scale
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def is_confident(self, hits: Sequence[Hit]) -> bool:
        return bool(hits) and self.probability(hits) >= self.threshold_for(hits)

    def explain(self, hits: Sequence[Hit]) -> dict[str, Any]:
        """Why the bot would (not) answer: each feature's value and its share of the log-odds.

        ``contributions`` add up, with ``intercept``, to ``log_odds``; a positive one pushed
        towards answering. For the agent inbox and for debugging a wrong answer.
        """
        values = features(hits)
        contributions = {
            name: coefficient * (values.get(name, 0.0) - mean) / scale
            for name, mean, scale, coefficient in zip(
                self.feature_names, self.mean, self.scale, self.coefficients, strict=True
            )
        }
        probability = self.probability(hits)
        return {
            "article_id": hits[0].article_id if hits else None,
            "probability": probability,
            "threshold": self.threshold_for(hits),
            "confident": self.is_confident(hits),
            "intercept": self.intercept,
            "log_odds": self.intercept + sum(contributions.values()) if hits else None,
            "features": {name: values.get(name, 0.0) for name in self.feature_names},
            "contributions": dict(sorted(contributions.items(), key=lambda item: -abs(item[1]))),
        }

    @classmethod
    def fit(
        cls,
        rows: Sequence[Mapping[str, float]],
        labels: Sequence[int],
        *,
        threshold: float,
        l2: float = 1.0,
        notes: dict[str, Any] | None = None,
        feature_names: Sequence[str] = FEATURES,
    ) -> Confidence:
        x = np.array([[row[name] for name in feature_names] for row in rows], dtype=np.float64)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        coefficients, intercept = fit_logistic(
            (x - mean) / scale, np.array(labels, dtype=np.float64), l2=l2
        )
        return cls(
            feature_names=list(feature_names),
            mean=[float(v) for v in mean],
            scale=[float(v) for v in scale],
            coefficients=[float(v) for v in coefficients],
            intercept=intercept,
            threshold=threshold,
            notes=notes or {},
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Confidence:
        data = json.loads(text)
        return cls(
            feature_names=[str(v) for v in data["feature_names"]],
            mean=[float(v) for v in data["mean"]],
            scale=[float(v) for v in data["scale"]],
            coefficients=[float(v) for v in data["coefficients"]],
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            notes=dict(data.get("notes", {})),
            learned_threshold=(
                float(data["learned_threshold"])
                if data.get("learned_threshold") is not None
                else None
            ),
        )

    @classmethod
    def load(cls, path: Path = PARAMS_PATH) -> Confidence:
        """The parameters shipped with the package (or another fitted file)."""
        return cls.from_json(path.read_text(encoding="utf-8"))

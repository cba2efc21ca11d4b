"""A linear classifier with a calibrated confidence, stored as plain JSON.

The machinery the learned router (:mod:`frontdesk.routing.learned`) and the intent benchmark
(:mod:`frontdesk.evaluation.intents`) share:

* :func:`fit_linear` fits a multinomial logistic regression (scikit-learn, lbfgs) on feature
  vectors, after standardising the columns named by ``standardise`` (the sentence embeddings are
  already L2-normalised and left as they are);
* :func:`cross_validate` predicts every training example from a model fitted on the other folds
  (stratified, grouped so that the same text never sits on both sides), picking the
  regularisation from a small grid by out-of-fold log-loss;
* :func:`fit_temperature` fits the softmax temperature on those out-of-fold logits (temperature
  scaling: one parameter, keeps the ranking, makes "0.8" mean right four times in five);
* :class:`LinearModel` is what is stored: classes, coefficients, intercepts, standardisation and
  temperature, as JSON (nothing is pickled), and predicts with numpy alone.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CrossValidation",
    "LinearModel",
    "choose_threshold",
    "cross_validate",
    "fit_linear",
    "fit_temperature",
    "fold_ids",
    "macro_f1",
    "rounded",
    "softmax",
]

log = logging.getLogger(__name__)

Matrix = NDArray[np.float64]
FORMAT_VERSION = 1
C_GRID = (1.0, 10.0, 100.0)


def softmax(logits: Matrix) -> Matrix:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: Matrix = exp / exp.sum(axis=1, keepdims=True)
    return result


def rounded(values: NDArray[Any]) -> list[Any]:
    """Floats with 7 significant digits: the JSON stays small and loses nothing that matters."""
    rounded: list[Any] = np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[float])(values).tolist()
    return rounded


@dataclass
class LinearModel:
    """``softmax((standardised(x) @ coef.T + intercept) / temperature)`` over ``classes``."""

    classes: list[str]
    coef: Matrix  # (classes, features)
    intercept: Matrix  # (classes,)
    mean: Matrix  # (features,) subtracted before scaling
    scale: Matrix  # (features,)
    temperature: float = 1.0
    threshold: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.coef.shape[1])

    def logits(self, features: Matrix) -> Matrix:
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        result: Matrix = z @ self.coef.T + self.intercept
        return result

    def predict_proba(self, features: Matrix, *, calibrated: bool = True) -> Matrix:
        logits = self.logits(features)
        return softmax(logits / self.temperature if calibrated else logits)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "coef": rounded(self.coef),
            "intercept": rounded(self.intercept),
            "mean": rounded(self.mean),
            "scale": rounded(self.scale),
            "temperature": float(self.temperature),
            "threshold": float(self.threshold),
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown router model format {data.get('format')!r}")
        coef = np.asarray(data["coef"], dtype=np.float64)
        classes = [str(c) for c in data["classes"]]
        if coef.ndim != 2 or coef.shape[0] != len(classes):
            raise ValueError("router model: coef does not match classes")
        model = cls(
            classes=classes,
            coef=coef,
            intercept=np.asarray(data["intercept"], dtype=np.float64),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            temperature=float(data.get("temperature", 1.0)),
            threshold=float(data.get("threshold", 0.5)),
            extra=dict(data.get("extra") or {}),
        )
        if not (model.intercept.shape == (len(classes),) and model.mean.shape == (model.dim,)):
            raise ValueError("router model: shapes do not agree")
        return model


def _standardisation(features: Matrix, standardise: slice | None) -> tuple[Matrix, Matrix]:
    dim = features.shape[1]
    mean = np.zeros(dim)
    scale = np.ones(dim)
    if standardise is not None:
        part = features[:, standardise]
        if part.size:
            std = part.std(axis=0)
            mean[standardise] = part.mean(axis=0)
            scale[standardise] = np.where(std < 1e-6, 1.0, std)
    return mean, scale


def fit_linear(
    features: Matrix,
    labels: Sequence[str],
    *,
    c: float = 10.0,
    standardise: slice | None = None,
    max_iter: int = 500,
    class_weight: str | None = None,
    sample_weight: Sequence[float] | NDArray[np.float64] | None = None,
) -> LinearModel:
    """Fit a multinomial logistic regression; at least two distinct labels are needed.
    ``sample_weight`` (one per row) weighs each example's loss (weak examples count less)."""
    from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(list(labels))
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ValueError("a classifier needs at least two classes")
    mean, scale = _standardisation(x, standardise)
    z = (x - mean) / scale
    estimator = LogisticRegression(C=c, max_iter=max_iter, class_weight=class_weight)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(
            z, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight)
        )
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            log.info("logistic regression (C=%s): %s", c, warning.message)
    fitted = [str(c_) for c_ in estimator.classes_]
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # binary: sigmoid(w.x + b) == softmax([0, w.x + b])
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    return LinearModel(fitted, coef, intercept, mean, scale, extra={"c": c})


def fold_ids(
    labels: Sequence[Hashable],
    folds: int,
    *,
    groups: Sequence[Hashable] | None = None,
    seed: int = 0,
) -> NDArray[np.int64]:
    """Stratified fold numbers: each class's groups are dealt round-robin, in random order."""
    rng = np.random.default_rng(seed)
    groups = list(groups) if groups is not None else list(range(len(labels)))
    members: dict[Hashable, list[int]] = {}
    group_label: dict[Hashable, Hashable] = {}
    for i, (label, group) in enumerate(zip(labels, groups, strict=True)):
        members.setdefault(group, []).append(i)
        group_label.setdefault(group, label)
    by_label: dict[Hashable, list[Hashable]] = {}
    for group, label in group_label.items():
        by_label.setdefault(label, []).append(group)
    result = np.zeros(len(labels), dtype=np.int64)
    offset = 0
    for label in sorted(by_label, key=str):
        order = by_label[label]
        for position, index in enumerate(rng.permutation(len(order))):
            for i in members[order[index]]:
                result[i] = (offset + position) % folds
        offset += len(order)
    return result


def fit_temperature(logits: Matrix, truth: NDArray[np.int64]) -> float:
    """The temperature minimising the log-loss of ``softmax(logits / T)`` (grid search)."""
    best, best_loss = 1.0, float("inf")
    rows = np.arange(len(truth))
    for temperature in np.geomspace(0.05, 20.0, 161):
        probs = softmax(logits / temperature)
        loss = float(-np.log(np.clip(probs[rows, truth], 1e-12, None)).mean())
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    labels = sorted(set(truth) | set(predicted))
    scores = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


@dataclass
class CrossValidation:
    classes: list[str]
    logits: Matrix  # out-of-fold, (examples, classes); a class absent from a fold: very low
    c: float
    folds: int
    temperature: float

    @property
    def probabilities(self) -> Matrix:
        return softmax(self.logits / self.temperature)

    def metrics(self, labels: Sequence[str], threshold: float) -> dict[str, Any]:
        probs = self.probabilities
        predicted = [self.classes[i] for i in probs.argmax(axis=1)]
        confidence = probs.max(axis=1)
        right = np.array([p == t for p, t in zip(predicted, labels, strict=True)])
        confident = confidence >= threshold
        return {
            "accuracy": float(right.mean()),
            "macro_f1": macro_f1(list(labels), predicted),
            "coverage": float(confident.mean()),
            "confident_accuracy": float(right[confident].mean()) if confident.any() else None,
            "folds": self.folds,
            "c": self.c,
            "temperature": self.temperature,
        }


def cross_validate(
    features: Matrix,
    labels: Sequence[str],
    *,
    groups: Sequence[Hashable] | None = None,
    folds: int = 5,
    c_grid: Sequence[float] = C_GRID,
    standardise: slice | None = None,
    on_fit: Callable[[], None] | None = None,
    extra: tuple[Matrix, Sequence[str]] | None = None,
    extra_weights: Sequence[float] | None = None,
) -> CrossValidation:
    """Out-of-fold logits for every example, with the best C of the grid (by log-loss).

    ``extra`` (weak examples: features, labels) joins the training side of every fold and is
    never predicted: it can only help through the real examples it is scored on;
    ``extra_weights`` (one per weak example) weighs them (1 by default)."""
    extra_x, extra_y = extra if extra is not None else (features[:0], [])
    weights_x = np.ones(len(extra_y)) if extra_weights is None else np.asarray(extra_weights)
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    truth = np.array([index[label] for label in labels])
    folds = max(2, min(folds, len(labels)))
    assignment = fold_ids(labels, folds, groups=groups)
    best: CrossValidation | None = None
    best_loss = float("inf")
    for c in c_grid:
        logits = np.full((len(labels), len(classes)), -30.0)
        for fold in range(folds):
            test = assignment == fold
            train = ~test
            if not test.any():
                continue
            train_labels = [label for label, t in zip(labels, train, strict=True) if t]
            train_labels += list(extra_y)
            if len(set(train_labels)) < 2:
                continue
            model = fit_linear(
                np.vstack([features[train], extra_x]),
                train_labels,
                c=c,
                standardise=standardise,
                sample_weight=None
                if extra_weights is None
                else np.concatenate([np.ones(int(train.sum())), weights_x]),
            )
            known = [i for i, k in enumerate(model.classes) if k in index]
            columns = np.array([index[model.classes[i]] for i in known], dtype=np.int64)
            logits[np.ix_(np.flatnonzero(test), columns)] = model.logits(features[test])[:, known]
            if on_fit is not None:
                on_fit()
        temperature = fit_temperature(logits, truth)
        probs = softmax(logits / temperature)
        loss = float(-np.log(np.clip(probs[np.arange(len(truth)), truth], 1e-12, None)).mean())
        if loss < best_loss:
            best_loss = loss
            best = CrossValidation(classes, logits, c, folds, temperature)
    assert best is not None
    return best


THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 19))  # 0.05, 0.1, ..., 0.9


def choose_threshold(
    predicted: Sequence[str],
    confidence: Sequence[float],
    labels: Sequence[str],
    *,
    triage_labels: Sequence[str] = (),
    grid: Sequence[float] = THRESHOLD_GRID,
    default: float = 0.5,
) -> float:
    """The confidence threshold with the best routed accuracy on out-of-fold predictions: a
    prediction at or above it routes to its class, below it goes to triage, which is right only
    for a label in ``triage_labels`` (the triage team). Among equally good thresholds, the one
    nearest ``default`` (for a calibrated probability: route when more likely right)."""
    truth = np.asarray(list(labels))
    guess = np.asarray(list(predicted))
    conf = np.asarray(list(confidence), dtype=np.float64)
    if not len(truth):
        return default
    triage = np.isin(truth, list(triage_labels))
    scores = [float(np.where(conf >= t, guess == truth, triage).mean()) for t in grid]
    top = max(scores)
    return min(
        (float(t) for t, s in zip(grid, scores, strict=True) if s >= top - 1e-9),
        key=lambda t: (abs(t - default), t),
    )

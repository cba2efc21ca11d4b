"""The knowledge base in the database: the only code that changes articles, collections and
example questions, and the reads the help center, the bot and the CLI share.

Every change bumps the workspace's ``kb_revision`` in the same transaction, which is how each
process's search index (:mod:`frontdesk.knowledge.registry`) learns that it must catch up.
Files in and out (Markdown with front matter, JSON) go through :func:`import_articles`,
:func:`export_markdown` and :func:`export_json`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the dependencies
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.knowledge.articles import (
    ARTICLE_ID,
    MAX_ARTICLE_CHARS,
    Article,
    ArticleError,
    examples_field,
    load_articles,
)
from frontdesk.language.detect import SUPPORTED
from frontdesk.store.models import (
    KbArticle,
    KbArticleView,
    KbCollection,
    KbExample,
    KbNegativeExample,
    Workspace,
    utcnow,
)

__all__ = [
    "STATUSES",
    "ImportReport",
    "access_article",
    "access_collection",
    "article_versions",
    "do_add_example",
    "do_add_negative_example",
    "do_delete_article",
    "do_delete_example",
    "do_save_article",
    "do_save_collection",
    "do_set_status",
    "export_json",
    "export_markdown",
    "import_articles",
    "import_collections",
    "import_folder",
    "list_articles",
    "list_collections",
    "list_negative_examples",
    "outdated_languages",
    "published_articles",
    "read_import_source",
    "record_view",
    "to_article",
    "viewed_since",
]

STATUSES = ("draft", "published")
# Paths under /api/v1/articles/ and /help/{workspace}/ that an article id would shadow.
RESERVED_ARTICLE_KEYS = frozenset({"search"})
MAX_TITLE_CHARS = 300
MAX_EXAMPLE_CHARS = 1000


def _bump_revision(session: Session, workspace_id: int) -> None:
    session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(kb_revision=Workspace.kb_revision + 1)
    )


def check_key(key: str) -> str:
    key = key.strip()
    if not ARTICLE_ID.match(key):
        raise InvalidInput(
            f"Article id {key!r} must be lowercase letters, digits, '-' or '_' "
            "(like reset-password), at most 128 characters."
        )
    return key


def check_language(language: str) -> str:
    language = language.strip().lower()
    if language not in SUPPORTED:
        raise InvalidInput(
            f"Language {language!r} is not supported; use one of {', '.join(SUPPORTED)}."
        )
    return language


# ----- collections ---------------------------------------------------------------------------


def list_collections(session: Session, workspace_id: int) -> list[KbCollection]:
    return list(
        session.scalars(
            select(KbCollection)
            .where(KbCollection.workspace_id == workspace_id)
            .order_by(KbCollection.position, KbCollection.name)
        )
    )


def access_collection(session: Session, workspace_id: int, slug: str) -> KbCollection:
    collection = session.scalar(
        select(KbCollection).where(
            KbCollection.workspace_id == workspace_id, KbCollection.slug == slug
        )
    )
    if collection is None:
        raise NotFound(f"Collection {slug!r} was not found.")
    return collection


def do_save_collection(
    session: Session,
    workspace_id: int,
    slug: str,
    *,
    name: str | None = None,
    description: str | None = None,
    position: int | None = None,
    translations: dict[str, Any] | None = None,
) -> KbCollection:
    """Create the collection ``slug`` or change the fields given."""
    slug = check_key(slug)
    collection = session.scalar(
        select(KbCollection).where(
            KbCollection.workspace_id == workspace_id, KbCollection.slug == slug
        )
    )
    if collection is None:
        collection = KbCollection(
            workspace_id=workspace_id,
            slug=slug,
            name=slug.replace("-", " ").replace("_", " ").capitalize(),
            description="",
            position=len(list_collections(session, workspace_id)),
            translations={},
        )
        session.add(collection)
    if name is not None:
        if not name.strip():
            raise InvalidInput("A collection needs a name.")
        collection.name = name.strip()[:200]
    if description is not None:
        collection.description = description.strip()
    if position is not None:
        collection.position = position
    if translations is not None:
        clean: dict[str, Any] = {}
        for language, texts in translations.items():
            language = check_language(str(language))
            if not isinstance(texts, dict):
                raise InvalidInput(
                    f"Translation {language!r} of collection {slug!r} must have a name and a "
                    "description."
                )
            clean[language] = {
                "name": str(texts.get("name") or "").strip()[:200],
                "description": str(texts.get("description") or "").strip(),
            }
        collection.translations = clean
    session.flush()
    _bump_revision(session, workspace_id)
    return collection


def import_collections(
    session: Session, workspace_id: int, entries: Sequence[dict[str, Any]]
) -> int:
    """Collections from a list of ``{slug, name, description, translations}`` (a YAML file)."""
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("slug"):
            raise InvalidInput(f"Collection {position + 1} needs a slug.")
        do_save_collection(
            session,
            workspace_id,
            str(entry["slug"]),
            name=str(entry.get("name") or entry["slug"]),
            description=str(entry.get("description") or ""),
            position=position,
            translations=dict(entry.get("translations") or {}),
        )
    return len(entries)


# ----- articles --------------------------------------------------------------------------------


def list_articles(
    session: Session,
    workspace_id: int,
    *,
    status: str | None = None,
    language: str | None = None,
    collection_id: int | None = None,
) -> list[KbArticle]:
    query = select(KbArticle).where(KbArticle.workspace_id == workspace_id)
    if status is not None:
        query = query.where(KbArticle.status == status)
    if language is not None:
        query = query.where(KbArticle.language == language)
    if collection_id is not None:
        query = query.where(KbArticle.collection_id == collection_id)
    return list(session.scalars(query.order_by(KbArticle.key, KbArticle.is_original.desc())))


def article_versions(session: Session, workspace_id: int, key: str) -> list[KbArticle]:
    """Every language version of one article, the original first."""
    return list(
        session.scalars(
            select(KbArticle)
            .where(KbArticle.workspace_id == workspace_id, KbArticle.key == key)
            .order_by(KbArticle.is_original.desc(), KbArticle.language)
        )
    )


def outdated_languages(versions: Sequence[KbArticle]) -> set[str]:
    """The translations last changed before their original was: their text may no longer say
    what the original says (Zendesk Guide and Intercom flag these the same way). A version's
    ``updated_at`` moves only when its title or body changes, or from an import's front matter."""
    original = next((v for v in versions if v.is_original), None)
    if original is None:
        return set()
    return {
        v.language for v in versions if not v.is_original and v.updated_at < original.updated_at
    }


def access_article(
    session: Session, workspace_id: int, key: str, language: str | None = None
) -> KbArticle:
    """One version of an article (the original when ``language`` is None), or NotFound."""
    versions = article_versions(session, workspace_id, key)
    for version in versions:
        if language is None and version.is_original:
            return version
        if version.language == language:
            return version
    raise NotFound(
        f"Article {key!r}" + (f" in {language!r}" if language else "") + " was not found."
    )


def do_save_article(
    session: Session,
    workspace_id: int,
    *,
    key: str,
    language: str,
    title: str,
    body: str,
    collection: str | None = None,
    tags: Iterable[str] | None = None,
    status: str | None = None,
    updated: dt.date | None = None,
) -> KbArticle:
    """Create an article version or replace its text.

    The first version saved for a ``key`` is the original; later ones in other languages are
    its translations and take its collection and tags unless given. ``collection`` is a slug;
    an unknown one is created.
    """
    key = check_key(key)
    if key in RESERVED_ARTICLE_KEYS:
        raise InvalidInput(
            f"Article id {key!r} is reserved (it names a page of the help center and the API); "
            "choose another, like help-search."
        )
    language = check_language(language)
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("An article needs a title.")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"The title is longer than {MAX_TITLE_CHARS} characters.")
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise InvalidInput(f"Article {key!r} has no text: write its body in Markdown.")
    if len(body) > MAX_ARTICLE_CHARS:
        raise InvalidInput(
            f"Article {key!r} is {len(body):,} characters; split it "
            f"(the limit is {MAX_ARTICLE_CHARS:,})."
        )
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(STATUSES)}, not {status!r}.")
    versions = article_versions(session, workspace_id, key)
    original = next((v for v in versions if v.is_original), None)
    article = next((v for v in versions if v.language == language), None)
    collection_id: int | None
    if collection:
        collection_id = do_save_collection(session, workspace_id, collection).id
    elif article is not None:
        collection_id = article.collection_id
    else:
        collection_id = original.collection_id if original is not None else None
    tag_list = [t.strip() for t in tags if t.strip()] if tags is not None else None
    when = dt.datetime.combine(updated, dt.time(12), tzinfo=dt.UTC) if updated is not None else None
    if article is None:
        article = KbArticle(
            workspace_id=workspace_id,
            key=key,
            language=language,
            is_original=original is None,
            title=title,
            body=body,
            collection_id=collection_id,
            tags=tag_list if tag_list is not None else list(original.tags if original else []),
            status=status or "draft",
            updated_at=when or utcnow(),
        )
        session.add(article)
    else:
        changed = (article.title, article.body) != (title, body)
        article.title = title
        article.body = body
        article.collection_id = collection_id
        if tag_list is not None:
            article.tags = tag_list
        if status is not None:
            article.status = status
        if when is not None:
            article.updated_at = when
        elif changed:
            article.updated_at = utcnow()
    session.flush()
    _bump_revision(session, workspace_id)
    return article


def do_set_status(session: Session, article: KbArticle, status: str) -> KbArticle:
    if status not in STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(STATUSES)}, not {status!r}.")
    if article.status != status:
        article.status = status
        _bump_revision(session, article.workspace_id)
    return article


def do_delete_article(
    session: Session, workspace_id: int, key: str, language: str | None = None
) -> int:
    """Delete one translation, or (``language`` None, or the original's) the whole article
    with its example questions. Returns the number of versions deleted."""
    versions = article_versions(session, workspace_id, key)
    if not versions:
        raise NotFound(f"Article {key!r} was not found.")
    targets = [
        v
        for v in versions
        if language is None or v.language == language or (v.is_original and v.language == language)
    ]
    if not targets:
        raise NotFound(f"Article {key!r} in {language!r} was not found.")
    whole = any(v.is_original for v in targets)
    if whole:
        targets = versions
        session.execute(
            delete(KbExample).where(
                KbExample.workspace_id == workspace_id, KbExample.article_key == key
            )
        )
    for version in targets:
        session.delete(version)
    session.flush()
    _bump_revision(session, workspace_id)
    return len(targets)


def to_article(row: KbArticle) -> Article:
    """The plain article the index and the exporters read."""
    return Article(
        id=row.key,
        title=row.title,
        language=row.language,
        body=row.body,
        collection=row.collection.slug if row.collection is not None else None,
        tags=tuple(row.tags or ()),
        updated=row.updated_at.date(),
        translation_of=None if row.is_original else row.key,
    )


def published_articles(session: Session, workspace_id: int) -> list[Article]:
    return [to_article(r) for r in list_articles(session, workspace_id, status="published")]


# ----- example questions --------------------------------------------------------------------


def do_add_example(
    session: Session,
    workspace_id: int,
    article_key: str,
    text: str,
    *,
    language: str,
    source: str = "admin",
    conversation_id: int | None = None,
) -> KbExample | None:
    """Attach a question the article answers. Returns None when it was there already."""
    access_article(session, workspace_id, article_key)
    text = " ".join(text.split())[:MAX_EXAMPLE_CHARS]
    if not text:
        raise InvalidInput("An example question needs some text.")
    if source not in ("admin", "learned"):
        raise InvalidInput("An example's source is 'admin' or 'learned'.")
    existing = session.scalar(
        select(KbExample).where(
            KbExample.workspace_id == workspace_id,
            KbExample.article_key == article_key,
            KbExample.text == text,
        )
    )
    if existing is not None:
        return None
    example = KbExample(
        workspace_id=workspace_id,
        article_key=article_key,
        language=check_language(language),
        text=text,
        source=source,
        conversation_id=conversation_id,
    )
    session.add(example)
    session.flush()
    _bump_revision(session, workspace_id)
    return example


def do_delete_example(session: Session, workspace_id: int, example_id: int) -> None:
    example = session.get(KbExample, example_id)
    if example is None or example.workspace_id != workspace_id:
        raise NotFound(f"Example question {example_id} was not found.")
    session.delete(example)
    session.flush()
    _bump_revision(session, workspace_id)


def list_examples(
    session: Session, workspace_id: int, article_key: str | None = None
) -> list[KbExample]:
    query = select(KbExample).where(KbExample.workspace_id == workspace_id)
    if article_key is not None:
        query = query.where(KbExample.article_key == article_key)
    return list(session.scalars(query.order_by(KbExample.id)))


def do_add_negative_example(
    session: Session,
    workspace_id: int,
    text: str,
    *,
    language: str,
    article_key: str | None = None,
    conversation_id: int | None = None,
) -> KbNegativeExample | None:
    """Remember a question a person had to handle (see :mod:`frontdesk.knowledge.learning`).
    Returns None when the same text is known already. The search does not read these, so
    the knowledge base's revision is left alone (no process re-reads its index for one)."""
    text = " ".join(text.split())[:MAX_EXAMPLE_CHARS]
    if not text:
        raise InvalidInput("A question to learn from needs some text.")
    existing = session.scalar(
        select(KbNegativeExample.id).where(
            KbNegativeExample.workspace_id == workspace_id, KbNegativeExample.text == text
        )
    )
    if existing is not None:
        return None
    example = KbNegativeExample(
        workspace_id=workspace_id,
        language=check_language(language),
        text=text,
        article_key=article_key,
        conversation_id=conversation_id,
    )
    session.add(example)
    session.flush()
    return example


def list_negative_examples(session: Session, workspace_id: int) -> list[KbNegativeExample]:
    return list(
        session.scalars(
            select(KbNegativeExample)
            .where(KbNegativeExample.workspace_id == workspace_id)
            .order_by(KbNegativeExample.id)
        )
    )


# ----- views ---------------------------------------------------------------------------------


def record_view(
    session: Session, workspace_id: int, customer_id: int | None, article_key: str, language: str
) -> None:
    session.add(
        KbArticleView(
            workspace_id=workspace_id,
            customer_id=customer_id,
            article_key=article_key,
            language=language,
        )
    )


def viewed_since(session: Session, workspace_id: int, customer_id: int, since: dt.datetime) -> bool:
    """Whether the customer read any help-center article since ``since`` (F6)."""
    return (
        session.scalar(
            select(KbArticleView.id)
            .where(
                KbArticleView.workspace_id == workspace_id,
                KbArticleView.customer_id == customer_id,
                KbArticleView.viewed_at >= since,
            )
            .limit(1)
        )
        is not None
    )


# ----- import and export ---------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # one line a file: which, and why

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def import_articles(
    session: Session,
    workspace_id: int,
    articles: Iterable[Article],
    *,
    status: str = "published",
    report: ImportReport | None = None,
    on_article: Callable[[Article], None] | None = None,
) -> ImportReport:
    """Save each article (create or replace by id and language); a bad one is skipped and
    reported, the others are imported. Originals are saved before their translations.
    ``on_article`` is called after each one, saved or skipped (a progress bar)."""
    report = report or ImportReport()
    ordered = sorted(articles, key=lambda a: (a.id, a.translation_of is not None, a.language))
    for article in ordered:
        _import_one(session, workspace_id, article, status, report)
        if on_article is not None:
            on_article(article)
    return report


def _import_one(
    session: Session, workspace_id: int, article: Article, status: str, report: ImportReport
) -> None:
    try:
        with session.begin_nested():
            existing = session.scalar(
                select(KbArticle).where(
                    KbArticle.workspace_id == workspace_id,
                    KbArticle.key == article.id,
                    KbArticle.language == article.language,
                )
            )
            before = (existing.title, existing.body) if existing is not None else None
            saved = do_save_article(
                session,
                workspace_id,
                key=article.id,
                language=article.language,
                title=article.title,
                body=article.body,
                collection=article.collection,
                tags=article.tags,
                status=status,
                updated=article.updated,
            )
            for language, text in article.examples:  # one already there is kept as it is
                do_add_example(session, workspace_id, article.id, text, language=language)
    except InvalidInput as exc:
        report.skipped.append(f"{article.source or article.id}: {exc.message}")
        return
    if before is None:
        report.created += 1
    elif before == (saved.title, saved.body):
        report.unchanged += 1
    else:
        report.updated += 1


def read_import_source(
    source: Path,
) -> tuple[list[Article], list[ArticleError], list[dict[str, Any]]]:
    """Read a folder of ``<id>.md`` / ``<id>.<lang>.md`` files (and its ``collections.yaml``)
    or a JSON export, without touching the database: the articles, one error per file or
    entry skipped, and the collections."""
    if source.is_file() and source.suffix == ".json":
        return _read_json_export(source)
    if not source.is_dir():
        raise InvalidInput(f"{source} is neither a folder of Markdown files nor a .json export.")
    articles, errors = load_articles(source)
    collections: list[dict[str, Any]] = []
    collections_file = source / "collections.yaml"
    if collections_file.exists():
        try:
            entries = yaml.safe_load(collections_file.read_text(encoding="utf-8")) or []
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            entries = None
            problem = getattr(exc, "problem", None) or "not valid YAML"
            errors.append(
                ArticleError(f"{problem}; collections skipped", source="collections.yaml")
            )
        if entries is not None and not isinstance(entries, list):
            errors.append(
                ArticleError("must be a list of collections; skipped", source="collections.yaml")
            )
        elif entries is not None:
            collections = entries
    return articles, errors, collections


def import_folder(
    session: Session, workspace_id: int, folder: Path, *, status: str = "published"
) -> ImportReport:
    """A folder of ``<id>.md`` / ``<id>.<lang>.md`` files, or a JSON export file."""
    articles, errors, collections = read_import_source(folder)
    import_collections(session, workspace_id, collections)
    report = ImportReport(skipped=[str(e) for e in errors])
    return import_articles(session, workspace_id, articles, status=status, report=report)


def _examples_by_file(
    session: Session, workspace_id: int, rows: Sequence[KbArticle]
) -> dict[tuple[str, str], list[Any]]:
    """The admin-written example questions, by the version file that carries them: the
    version in their language (as plain questions), else the original (as ``{text,
    language}``). Learned ones are the customers' own words and are not exported: the bot
    learns them again from the conversations."""
    versions = {(r.key, r.language) for r in rows}
    originals = {r.key: r.language for r in rows if r.is_original}
    out: dict[tuple[str, str], list[Any]] = {}
    for example in list_examples(session, workspace_id):
        if example.source != "admin" or example.article_key not in originals:
            continue
        if (example.article_key, example.language) in versions:
            out.setdefault((example.article_key, example.language), []).append(example.text)
        else:
            where = (example.article_key, originals[example.article_key])
            out.setdefault(where, []).append({"text": example.text, "language": example.language})
    return out


def _front_matter(article: Article, examples: Sequence[Any] = ()) -> str:
    meta: dict[str, Any] = {"id": article.id, "title": article.title}
    if article.collection:
        meta["collection"] = article.collection
    meta["language"] = article.language
    if article.translation_of:
        meta["translation_of"] = article.translation_of
    meta["tags"] = list(article.tags)
    if article.updated:
        meta["updated"] = article.updated.isoformat()
    if examples:
        meta["examples"] = list(examples)
    lines = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n"


def export_markdown(session: Session, workspace_id: int, folder: Path) -> int:
    """Write every article version as ``<id>.md`` / ``<id>.<lang>.md`` (the import format)
    and the collections as ``collections.yaml``. Returns the number of files written."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    rows = list_articles(session, workspace_id)
    examples = _examples_by_file(session, workspace_id, rows)
    for row in rows:
        article = to_article(row)
        name = f"{article.id}.md" if row.is_original else f"{article.id}.{article.language}.md"
        front = _front_matter(article, examples.get((row.key, row.language), ()))
        (folder / name).write_text(front + article.body + "\n", encoding="utf-8")
        count += 1
    collections = [
        {
            "slug": c.slug,
            "name": c.name,
            "description": c.description,
            "translations": c.translations,
        }
        for c in list_collections(session, workspace_id)
    ]
    (folder / "collections.yaml").write_text(
        yaml.safe_dump(collections, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return count


def export_json(session: Session, workspace_id: int) -> dict[str, Any]:
    """The whole knowledge base as one JSON-able object (the other import format)."""
    rows = list_articles(session, workspace_id)
    examples = _examples_by_file(session, workspace_id, rows)
    return {
        "collections": [
            {
                "slug": c.slug,
                "name": c.name,
                "description": c.description,
                "translations": c.translations,
            }
            for c in list_collections(session, workspace_id)
        ],
        "articles": [
            {
                "id": r.key,
                "language": r.language,
                "translation_of": None if r.is_original else r.key,
                "title": r.title,
                "collection": r.collection.slug if r.collection is not None else None,
                "tags": list(r.tags or ()),
                "status": r.status,
                "updated": r.updated_at.date().isoformat(),
                "body": r.body,
                "examples": examples.get((r.key, r.language), []),
            }
            for r in rows
        ],
    }


def _read_json_export(
    path: Path,
) -> tuple[list[Article], list[ArticleError], list[dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not a JSON export: {exc}") from None
    items = data.get("articles") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInput(f"{path.name} must hold a list of articles under 'articles'.")
    collections = data.get("collections") if isinstance(data, dict) else None
    if not isinstance(collections, list):
        collections = []
    articles: list[Article] = []
    errors: list[ArticleError] = []
    for n, item in enumerate(items, 1):
        source = f"{path.name}#{n}"
        if not isinstance(item, dict):
            errors.append(
                ArticleError("not an object with id, title, language, body", source=source)
            )
            continue
        try:
            updated = item.get("updated")
            articles.append(
                Article(
                    id=check_key(str(item.get("id") or "")),
                    title=str(item.get("title") or ""),
                    language=check_language(str(item.get("language") or "")),
                    body=str(item.get("body") or ""),
                    collection=item.get("collection") or None,
                    tags=tuple(str(t) for t in item.get("tags") or ()),
                    updated=dt.date.fromisoformat(updated) if updated else None,
                    translation_of=item.get("translation_of") or None,
                    source=source,
                    examples=examples_field(
                        item.get("examples") or None, str(item.get("language") or ""), source
                    ),
                )
            )
        except ArticleError as exc:
            errors.append(exc)
        except (InvalidInput, ValueError) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            errors.append(ArticleError(message, source=source))
    return articles, errors, collections

"""Knowledge-base articles: Markdown with YAML front matter.

The folder format is the one of ``../shared/data/helios/kb``: ``<id>.md`` for an original and
``<id>.<lang>.md`` for a translation, which carries the same ``id`` and names the original in
``translation_of``::

    ---
    id: "reset-password"
    title: "Reset your password"
    collection: "account-and-security"
    language: "en"
    tags: ["account", "password"]
    updated: "2026-08-02"
    examples: ["I forgot my password", {"text": "ลืมรหัสผ่าน", "language": "th"}]
    ---
    # Reset your password
    ...

``examples`` (optional) are the example questions an admin wrote for the article, in the
file's language unless an entry names another; ``frontdesk kb export`` writes them back (the
ones learned from conversations are not exported: they are customers' words).

Front matter is read with ``yaml.safe_load`` only. Every problem is an :class:`ArticleError`
whose message names the file and says what to fix; :func:`load_articles` collects them and
goes on with the other files.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the dependencies

from frontdesk.language.detect import SUPPORTED

__all__ = [
    "ARTICLE_ID",
    "Article",
    "ArticleError",
    "examples_field",
    "load_articles",
    "parse_article",
]

MAX_ARTICLE_CHARS = 200_000
ARTICLE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


class ArticleError(ValueError):
    """An article that cannot be read, with a message a person can act on."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    language: str
    body: str
    collection: str | None = None
    tags: tuple[str, ...] = ()
    updated: dt.date | None = None
    translation_of: str | None = None
    source: str | None = field(default=None, compare=False)
    # Example questions an admin wrote for the article: (language, text), the file's language
    # unless the front matter names another (``examples: [..., {text: ..., language: th}]``).
    examples: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """One article version: the article id and the language of this text."""
        return (self.id, self.language)


def _text_field(
    meta: dict[str, Any], name: str, source: str | None, *, required: bool
) -> str | None:
    value = meta.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ArticleError(f"front matter needs a non-empty '{name}'", source=source)
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ArticleError(f"'{name}' must be text, not {type(value).__name__}", source=source)
    return str(value).strip()


def _date_field(value: object, source: str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ArticleError(f"'updated' must be a date like 2026-09-18, not {value!r}", source=source)


def _tags_field(value: object, source: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str | int) for t in value):
        raise ArticleError("'tags' must be a list of words, e.g. [billing, plans]", source=source)
    return tuple(str(t).strip() for t in value if str(t).strip())


MAX_EXAMPLES = 100


def examples_field(value: object, language: str, source: str | None) -> tuple[tuple[str, str], ...]:
    """``examples``: a list of questions (in the article's language) or of ``{text,
    language}`` objects; each is (language, text)."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_EXAMPLES:
        raise ArticleError(
            f"'examples' must be a list of at most {MAX_EXAMPLES} questions", source=source
        )
    found: list[tuple[str, str]] = []
    for item in value:
        text, lang = (item, language) if isinstance(item, str) else (None, None)
        if isinstance(item, dict):
            text, lang = item.get("text"), str(item.get("language") or language).lower()
        if not isinstance(text, str) or not text.strip() or lang not in SUPPORTED:
            raise ArticleError(
                "each example is a question, or {text: ..., language: ...} in a supported "
                f"language; not {item!r}",
                source=source,
            )
        found.append((lang, " ".join(text.split())))
    return tuple(found)


def parse_article(text: str, *, source: str | None = None) -> Article:
    """Parse one Markdown file with YAML front matter; raise :class:`ArticleError` if broken."""
    if len(text) > MAX_ARTICLE_CHARS:
        raise ArticleError(
            f"article is {len(text):,} characters; split it (the limit is {MAX_ARTICLE_CHARS:,})",
            source=source,
        )
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise ArticleError(
            "no front matter: the file must start with a '---' line, the YAML fields "
            "(id, title, language, ...), and a closing '---' line",
            source=source,
        )
    try:
        meta = yaml.safe_load(match.group("yaml"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (front matter line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ArticleError(
            f"front matter is not valid YAML{where}: {problem}", source=source
        ) from None
    if not isinstance(meta, dict):
        raise ArticleError(
            "front matter must be YAML fields (key: value), one a line", source=source
        )

    article_id = _text_field(meta, "id", source, required=True)
    assert article_id is not None
    if not ARTICLE_ID.match(article_id):
        raise ArticleError(
            f"id {article_id!r} must be lowercase letters, digits, '-' or '_' (like reset-password)",
            source=source,
        )
    title = _text_field(meta, "title", source, required=True)
    assert title is not None
    language = _text_field(meta, "language", source, required=True)
    assert language is not None
    language = language.lower()
    if language not in SUPPORTED:
        raise ArticleError(
            f"language {language!r} is not supported; use one of {', '.join(SUPPORTED)}",
            source=source,
        )
    translation_of = _text_field(meta, "translation_of", source, required=False)
    if translation_of is not None and translation_of != article_id:
        raise ArticleError(
            f"translation_of {translation_of!r} must equal the id {article_id!r}: "
            "a translation carries the id of its original",
            source=source,
        )
    body = text[match.end() :].strip()
    return Article(
        id=article_id,
        title=title,
        language=language,
        body=body,
        collection=_text_field(meta, "collection", source, required=False),
        tags=_tags_field(meta.get("tags"), source),
        updated=_date_field(meta.get("updated"), source),
        translation_of=translation_of,
        source=source,
        examples=examples_field(meta.get("examples"), language, source),
    )


def load_articles(
    paths: Path | Iterable[Path],
) -> tuple[list[Article], list[ArticleError]]:
    """Read every ``*.md`` of a folder (or the given files), sorted by name.

    Returns the articles read and one error per file skipped: broken front matter, a file name
    that disagrees with its front matter, or a second file for the same id and language.
    """
    files = sorted(paths.glob("*.md")) if isinstance(paths, Path) else sorted(paths)
    articles: list[Article] = []
    errors: list[ArticleError] = []
    seen: dict[tuple[str, str], str] = {}
    for path in files:
        source = path.name
        try:
            article = parse_article(path.read_text(encoding="utf-8"), source=source)
        except UnicodeDecodeError:
            errors.append(ArticleError("not UTF-8 text; save the file as UTF-8", source=source))
            continue
        except ArticleError as exc:
            errors.append(exc)
            continue
        stem_parts = path.name.removesuffix(".md").split(".")
        if stem_parts[0] != article.id:
            errors.append(
                ArticleError(
                    f"file name says id {stem_parts[0]!r} but front matter says {article.id!r}",
                    source=source,
                )
            )
            continue
        if len(stem_parts) == 2 and stem_parts[1] != article.language:
            errors.append(
                ArticleError(
                    f"file name says language {stem_parts[1]!r} but front matter says "
                    f"{article.language!r}",
                    source=source,
                )
            )
            continue
        if article.key in seen:
            errors.append(
                ArticleError(
                    f"duplicate id {article.id!r} in {article.language!r}: "
                    f"{seen[article.key]} has it already; this file was skipped",
                    source=source,
                )
            )
            continue
        seen[article.key] = source
        articles.append(article)
    return articles, errors

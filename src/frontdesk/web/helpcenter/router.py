"""The public help center: /help/{workspace_slug} with its collections, articles and search.

Only published articles are shown. Each page speaks the visitor's language (``?lang=``, else
Accept-Language, else the workspace's default) and shows an article in that language when a
translation exists, else the original with a note saying so. Article bodies are Markdown
rendered and sanitised by :func:`frontdesk.web.helpcenter.markdown.render_markdown`; the pages
carry the app's Content-Security-Policy, so no script but our own files can run.

Search lists only the articles :mod:`frontdesk.web.helpcenter.relevance` finds relevant (the
query's words in the article, or a semantic match the calibration believes in); when none is,
the page says so and offers the collections and the workspace's contact form instead.

Article views are recorded (:func:`frontdesk.knowledge.store.record_view`) for the visitor the
chat widget knows: the pages embed the widget, whose visitor token a small script copies into
the ``frontdesk_visitor`` cookie (path ``/help/{slug}``); the server looks the token up like the
widget does. No cookie, or a token of no customer of this workspace: the view is anonymous.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from frontdesk.bot.respond import confidence
from frontdesk.bot.suggestions import has_words
from frontdesk.customers.actions import customer_by_visitor_token
from frontdesk.errors import FrontdeskError, NotFound, RateLimited
from frontdesk.knowledge.articles import ARTICLE_ID
from frontdesk.knowledge.passages import split_article
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import (
    list_articles,
    list_collections,
    list_examples,
    record_view,
    to_article,
)
from frontdesk.language.detect import SUPPORTED, detect_language
from frontdesk.store.models import KbArticle, KbCollection, Workspace
from frontdesk.web.agent.common import templates
from frontdesk.web.deps import client_ip, get_runtime
from frontdesk.web.helpcenter.markdown import (
    ANCHOR_PREFIX,
    render_markdown,
    without_title_heading,
)
from frontdesk.web.helpcenter.relevance import Vocabulary, article_texts, relevant_hits
from frontdesk.web.helpcenter.texts import (
    LANGUAGE_NAMES,
    NATIVE_NAMES,
    pick_language,
    texts_for,
)

__all__ = ["VISITOR_COOKIE", "router"]

VISITOR_COOKIE = "frontdesk_visitor"
MAX_QUERY_CHARS = 300
SEARCH_RESULTS = 10
# Articles the index ranks before the relevance rule (frontdesk.web.helpcenter.relevance)
# picks the ones to list.
CANDIDATES = 30
SNIPPET_CHARS = 240
# Public pages: per client IP, a minute (searches embed the query, so they get their own).
PAGES_PER_MINUTE = 300
SEARCHES_PER_MINUTE = 60
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_VISITOR_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,100}$")


@dataclass(frozen=True)
class Page:
    """What every help-center page knows: the workspace, the language, its texts."""

    workspace: Workspace
    language: str
    texts: dict[str, str]


class HelpRoute(APIRoute):
    """Errors become a help-center page (localised, right status), never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except FrontdeskError as exc:
                return _error_page(request, exc)

        return wrapped


router = APIRouter(prefix="/help", route_class=HelpRoute, include_in_schema=False)


def _error_page(request: Request, exc: FrontdeskError) -> Response:
    page: Page | None = getattr(request.state, "help_page", None)
    language = (
        page.language
        if page
        else pick_language(
            request.query_params.get("lang"), request.headers.get("accept-language"), "en"
        )
    )
    texts = page.texts if page else texts_for(language, "")
    message = texts["not_found"] if isinstance(exc, NotFound) else exc.message
    response = _render(
        request,
        "helpcenter/error.html",
        page,
        {"status": exc.status, "message": message, "language": language, "t": texts},
        status_code=exc.status,
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _render(
    request: Request,
    name: str,
    page: Page | None,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {}
    if page is not None:
        values.update(
            {
                "workspace": page.workspace,
                "language": page.language,
                "t": page.texts,
                "home_url": _url(page, ""),
                "search_url": _url(page, "/search"),
                "languages": [
                    (code, NATIVE_NAMES[code], _switch_url(request, code)) for code in SUPPORTED
                ],
            }
        )
    values.update(context)
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _url(page: Page, path: str, **query: str) -> str:
    query = {"lang": page.language, **query}
    return f"/help/{page.workspace.slug}{path}?{urlencode(query)}"


def _contact_url(page: Page) -> str:
    """The workspace's web form (every workspace has one), in the page's language."""
    return f"/form/{page.workspace.slug}?{urlencode({'lang': page.language})}"


def _switch_url(request: Request, language: str) -> str:
    params = {k: v for k, v in request.query_params.items() if k in ("q",)}
    params["lang"] = language
    return f"{request.url.path}?{urlencode(params)}"


def _limit(request: Request, bucket: str, limit: int, what: str) -> None:
    runtime = get_runtime(request)
    runtime.limiter.hit(f"help:{bucket}:{client_ip(request)}", limit=limit, window=60, what=what)


def _open(request: Request, session: Session, slug: str) -> Page:
    _limit(request, "pages", PAGES_PER_MINUTE, "help-center pages from this address")
    workspace = (
        session.scalar(select(Workspace).where(Workspace.slug == slug))
        if _SLUG.match(slug)
        else None
    )
    if workspace is None:
        raise NotFound("This help center does not exist.")
    session.expunge(workspace)
    language = pick_language(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        workspace.default_language,
    )
    page = Page(workspace, language, texts_for(language, workspace.name))
    request.state.help_page = page
    return page


def _collection_name(collection: KbCollection, language: str) -> tuple[str, str]:
    translated = (collection.translations or {}).get(language) or {}
    name = str(translated.get("name") or "").strip() or collection.name
    description = str(translated.get("description") or "").strip() or collection.description
    return name, description


@dataclass(frozen=True)
class Listed:
    key: str
    title: str
    language: str
    collection_id: int | None
    url: str


def _pick(versions: list[KbArticle], language: str) -> KbArticle:
    """The version in ``language``, else the original, else any (all are published)."""
    for version in versions:
        if version.language == language:
            return version
    return next((v for v in versions if v.is_original), versions[0])


def _published(session: Session, workspace_id: int) -> dict[str, list[KbArticle]]:
    by_key: dict[str, list[KbArticle]] = {}
    for row in list_articles(session, workspace_id, status="published"):
        by_key.setdefault(row.key, []).append(row)
    return by_key


def _listed(page: Page, by_key: dict[str, list[KbArticle]]) -> list[Listed]:
    items = []
    for key, versions in by_key.items():
        shown = _pick(versions, page.language)
        original = next((v for v in versions if v.is_original), shown)
        items.append(
            Listed(
                key=key,
                title=shown.title,
                language=shown.language,
                collection_id=original.collection_id,
                url=_url(page, f"/articles/{key}"),
            )
        )
    return sorted(items, key=lambda item: item.title.casefold())


@router.get("/{slug}")
def home(request: Request, slug: str) -> Response:
    runtime = get_runtime(request)
    with runtime.db.read() as session:
        page = _open(request, session, slug)
        articles = _listed(page, _published(session, page.workspace.id))
        collections = []
        for collection in list_collections(session, page.workspace.id):
            inside = [a for a in articles if a.collection_id == collection.id]
            if not inside:
                continue
            name, description = _collection_name(collection, page.language)
            collections.append(
                {
                    "name": name,
                    "description": description,
                    "count": len(inside),
                    "articles": inside[:5],
                    "url": _url(page, f"/collections/{collection.slug}"),
                }
            )
        known = {c.id for c in list_collections(session, page.workspace.id)}
        loose = [a for a in articles if a.collection_id not in known]
    return _render(
        request,
        "helpcenter/home.html",
        page,
        {"collections": collections, "loose": loose, "query": ""},
    )


@router.get("/{slug}/collections/{collection_slug}")
def collection_page(request: Request, slug: str, collection_slug: str) -> Response:
    runtime = get_runtime(request)
    with runtime.db.read() as session:
        page = _open(request, session, slug)
        collection = (
            session.scalar(
                select(KbCollection).where(
                    KbCollection.workspace_id == page.workspace.id,
                    KbCollection.slug == collection_slug,
                )
            )
            if ARTICLE_ID.match(collection_slug)
            else None
        )
        if collection is None:
            raise NotFound("No such collection.")
        name, description = _collection_name(collection, page.language)
        articles = [
            a
            for a in _listed(page, _published(session, page.workspace.id))
            if a.collection_id == collection.id
        ]
    return _render(
        request,
        "helpcenter/collection.html",
        page,
        {"name": name, "description": description, "articles": articles, "query": ""},
    )


def _visitor_id(request: Request, session: Session, workspace: Workspace) -> int | None:
    """The customer the chat widget knows this browser as, from the visitor cookie."""
    token = request.cookies.get(VISITOR_COOKIE, "")
    if not _VISITOR_TOKEN.match(token):
        return None
    customer = customer_by_visitor_token(session, workspace, token)
    return customer.id if customer is not None else None


@router.get("/{slug}/articles/{key}")
def article_page(request: Request, slug: str, key: str) -> Response:
    runtime = get_runtime(request)
    with runtime.db.read() as session:
        page = _open(request, session, slug)
        versions = (
            [
                v
                for v in list_articles(session, page.workspace.id, status="published")
                if v.key == key
            ]
            if ARTICLE_ID.match(key)
            else []
        )
        if not versions:
            raise NotFound("No such article.")
        shown = _pick(versions, page.language)
        original = next((v for v in versions if v.is_original), shown)
        collection = original.collection
        crumb = (
            {
                "name": _collection_name(collection, page.language)[0],
                "url": _url(page, f"/collections/{collection.slug}"),
            }
            if collection is not None
            else None
        )
        note = None
        if shown.language != page.language:
            note = page.texts["shown_in"].replace(
                "{language}", LANGUAGE_NAMES[page.language].get(shown.language, shown.language)
            )
        others = [
            (v.language, NATIVE_NAMES.get(v.language, v.language), _switch_url(request, v.language))
            for v in versions
            if v.language != shown.language
        ]
        context = {
            "title": shown.title,
            "body": render_markdown(without_title_heading(shown.body, shown.title)),
            "article_language": shown.language,
            "updated": shown.updated_at.date().isoformat(),
            "note": note,
            "others": others,
            "crumb": crumb,
            "query": "",
        }
        customer_id = _visitor_id(request, session, page.workspace)
    with runtime.db.write() as session:
        record_view(session, page.workspace.id, customer_id, key, shown.language)
    return _render(request, "helpcenter/article.html", page, context)


# The vocabulary of each workspace's published articles, for the relevance rule: kept per
# knowledge registry (one per runtime) and rebuilt when the knowledge base's revision moves.
_vocabularies: weakref.WeakKeyDictionary[KnowledgeRegistry, dict[int, tuple[int, Vocabulary]]] = (
    weakref.WeakKeyDictionary()
)
_vocabularies_lock = threading.Lock()


def _vocabulary(
    session: Session,
    knowledge: KnowledgeRegistry,
    workspace: Workspace,
    by_key: dict[str, list[KbArticle]],
) -> Vocabulary:
    """The published versions' words, and the example questions an admin wrote (those learned
    from conversations are a customer's words: the public search does not match on them)."""
    with _vocabularies_lock:
        cached = _vocabularies.get(knowledge, {}).get(workspace.id)
    if cached is not None and cached[0] == workspace.kb_revision:
        return cached[1]
    texts = {
        key: [text for v in versions for text in article_texts(v.title, v.body, v.tags)]
        for key, versions in by_key.items()
    }
    for example in list_examples(session, workspace.id):
        if example.source == "admin" and example.article_key in texts:
            texts[example.article_key].append(example.text)
    vocabulary = Vocabulary.build(texts)
    with _vocabularies_lock:
        _vocabularies.setdefault(knowledge, {})[workspace.id] = (workspace.kb_revision, vocabulary)
    return vocabulary


@router.get("/{slug}/search")
def search_page(request: Request, slug: str) -> Response:
    runtime = get_runtime(request)
    query = " ".join(str(request.query_params.get("q", "")).split())[:MAX_QUERY_CHARS]
    results: list[dict[str, Any]] = []
    with runtime.db.read() as session:
        page = _open(request, session, slug)
        if query:
            _limit(request, "search", SEARCHES_PER_MINUTE, "searches from this address")
        if query and has_words(query):  # not only emoji, punctuation or a pasted link
            detected = detect_language(query, fallback=page.language)
            language = detected.language if detected.language in SUPPORTED else page.language
            index = runtime.knowledge.index(session, page.workspace.id)
            candidates = index.search(query, language, CANDIDATES)
            by_key = _published(session, page.workspace.id)
            vocabulary = _vocabulary(session, runtime.knowledge, page.workspace, by_key)
            probability = confidence().probability(candidates)
            hits = relevant_hits(query, candidates, vocabulary, probability, language)
            for hit in hits[:SEARCH_RESULTS]:
                versions = by_key.get(hit.article_id)
                if not versions:
                    continue  # unpublished since the index was read
                shown = _pick(versions, page.language)
                passage = hit.passage
                if passage.language != shown.language:
                    # the passage found is in a third language: show the same place of the
                    # version the link opens (translations keep the original's structure)
                    parts = split_article(to_article(shown))
                    passage = parts[min(passage.position, len(parts) - 1)]
                anchor = (
                    f"#{ANCHOR_PREFIX}{passage.anchor}"
                    if passage.anchor and passage.language == shown.language
                    else ""
                )
                snippet = passage.text.replace("\n", " ")
                if len(snippet) > SNIPPET_CHARS:
                    snippet = snippet[: SNIPPET_CHARS - 1].rstrip() + "…"
                results.append(
                    {
                        "title": shown.title,
                        "section": passage.heading if passage.heading != passage.title else "",
                        "snippet": snippet,
                        "url": _url(page, f"/articles/{hit.article_id}") + anchor,
                        "language": shown.language,
                        "other_language": shown.language != page.language,
                    }
                )
    return _render(
        request,
        "helpcenter/search.html",
        page,
        {"query": query, "results": results, "contact_url": _contact_url(page)},
    )

"""Knowledge-base pages of the agent app, under /admin/kb: articles, translations, collections
and example questions.

Every agent may read them (to know what the bot knows); only admins change anything, and every
change goes through :mod:`frontdesk.knowledge.store` in one write transaction. Forms carry the
session's CSRF token like every other page. The editor shows a preview rendered on the server by
the help center's own sanitising renderer: a "Preview" button re-renders the page without
JavaScript, and a small script (served from here, CSP-safe) refreshes it while the admin types.
A save refused for bad input shows the form again with the message and everything typed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from frontdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from frontdesk.knowledge.articles import ARTICLE_ID
from frontdesk.knowledge.store import (
    STATUSES,
    access_article,
    access_collection,
    article_versions,
    do_add_example,
    do_delete_article,
    do_delete_example,
    do_save_article,
    do_save_collection,
    do_set_status,
    list_articles,
    list_collections,
    list_examples,
    outdated_languages,
)
from frontdesk.language.detect import SUPPORTED
from frontdesk.store.models import KbArticle, KbExample, Workspace
from frontdesk.web.agent.common import (
    HTMLRoute,
    PageLogin,
    SessionForm,
    optional_int,
    redirect,
    render,
    text_field,
)
from frontdesk.web.deps import AgentLogin, RuntimeDep
from frontdesk.web.helpcenter.markdown import render_markdown
from frontdesk.web.helpcenter.texts import LANGUAGE_NAMES

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)

LANGUAGES = [(code, LANGUAGE_NAMES["en"][code]) for code in SUPPORTED]
MAX_BODY_FORM = 200_000
MAX_TAGS = 30

EDITOR_SCRIPT = """\
(function () {
  "use strict";
  var form = document.querySelector("form.js-kb-editor");
  var preview = document.getElementById("kb-preview");
  if (!form || !preview || !window.fetch) return;
  var timer = null, pending = null;
  function refresh() {
    var data = new FormData(form);
    data.set("action", "preview");
    pending = fetch("/admin/kb/preview", {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html !== null) preview.innerHTML = html; /* sanitised on the server (nh3) */
    }, function () {});
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  });
})();
"""


def _require_admin(login: AgentLogin) -> None:
    if not login.is_admin:
        raise Forbidden("Only admins can change the knowledge base.")


def _check_key(raw: str, *, what: str = "article id") -> str:
    key = raw.strip()
    if not ARTICLE_ID.match(key):
        raise NotFound(f"No {what} {key[:130]!r}.")
    return key


def _language_param(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in SUPPORTED:
        raise InvalidInput(
            f"Language {raw[:20]!r} is not supported; use one of {', '.join(SUPPORTED)}."
        )
    return raw


def _key_from_title(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80].strip("-")
    return slug


def _tags(raw: str) -> list[str]:
    tags = [t.strip() for t in raw.split(",") if t.strip()]
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags.")
    if any(len(t) > 50 for t in tags):
        raise InvalidInput("A tag is at most 50 characters.")
    return list(dict.fromkeys(tags))


# Article list ----------------------------------------------------------------------------------


@router.get("/admin/kb")
def articles_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(STATUSES)}.")
    language = _language_param(params.get("language"))
    collection_slug = params.get("collection") or None
    with runtime.db.read() as session:
        collections = list_collections(session, login.workspace_id)
        collection_id = None
        if collection_slug is not None:
            collection_id = access_collection(
                session, login.workspace_id, _check_key(collection_slug, what="collection")
            ).id
        matching = list_articles(
            session,
            login.workspace_id,
            status=status,
            language=language,
            collection_id=collection_id,
        )
        keys = list(dict.fromkeys(row.key for row in matching))
        by_key: dict[str, list[KbArticle]] = defaultdict(list)
        for row in list_articles(session, login.workspace_id):
            if row.key in keys:
                by_key[row.key].append(row)
        rows = []
        for key in keys:
            versions = by_key[key]
            original = next((v for v in versions if v.is_original), versions[0])
            rows.append(
                {
                    "key": key,
                    "title": original.title,
                    "collection": original.collection.name if original.collection else "",
                    "status": original.status,
                    "versions": [
                        (v.language, v.status, v.language in outdated_languages(versions))
                        for v in versions
                    ],
                    "updated": max(v.updated_at for v in versions),
                }
            )
    return render(
        request,
        "agent/admin/kb_articles.html",
        {
            "section": "kb",
            "kb_section": "articles",
            "rows": rows,
            "collections": collections,
            "languages": LANGUAGES,
            "statuses": STATUSES,
            "filters": {
                "status": status or "",
                "language": language or "",
                "collection": collection_slug or "",
            },
        },
        login=login,
    )


# Editor ----------------------------------------------------------------------------------------


def _editor(
    request: Request,
    login: AgentLogin,
    runtime: RuntimeDep,
    values: dict[str, Any],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    with runtime.db.read() as session:
        collections = list_collections(session, login.workspace_id)
    return render(
        request,
        "agent/admin/kb_edit.html",
        {
            "section": "kb",
            "kb_section": "articles",
            "v": values,
            "preview": render_markdown(values.get("body", "")),
            "collections": collections,
            "languages": LANGUAGES,
            "statuses": STATUSES,
            "error": error,
        },
        status_code=status_code,
        login=login,
    )


@router.get("/admin/kb/new")
def new_article_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    _require_admin(login)
    values = {
        "mode": "new",
        "key": "",
        "language": "en",
        "title": "",
        "collection": request.query_params.get("collection", ""),
        "tags": "",
        "body": "",
        "status": "draft",
    }
    with runtime.db.read() as session:
        workspace = session.get(Workspace, login.workspace_id)
        if workspace is not None:
            values["language"] = workspace.default_language
    return _editor(request, login, runtime, values)


@router.get("/admin/kb/articles/{key}/edit")
def edit_article_page(
    request: Request, key: str, login: PageLogin, runtime: RuntimeDep
) -> Response:
    """Edit one version; for a language without a version yet: a new translation, pre-filled
    with the original's text to translate."""
    _require_admin(login)
    key = _check_key(key)
    language = _language_param(request.query_params.get("language"))
    with runtime.db.read() as session:
        original = access_article(session, login.workspace_id, key)
        versions = article_versions(session, login.workspace_id, key)
        version = next((v for v in versions if v.language == (language or original.language)), None)
        source = version or original
        values = {
            "mode": "edit" if version is not None else "translate",
            "key": key,
            "language": source.language if version is not None else language,
            "title": source.title,
            "collection": original.collection.slug if original.collection else "",
            "tags": ", ".join(source.tags or ()),
            "body": source.body,
            "status": source.status if version is not None else "draft",
            "original_language": original.language,
            "is_original": version is not None and version.is_original,
        }
    return _editor(request, login, runtime, values)


def _form_values(form: FormData) -> dict[str, Any]:
    return {
        "mode": text_field(form, "mode", max_len=16) or "new",
        "key": text_field(form, "key", max_len=200).strip(),
        "language": text_field(form, "language", max_len=16).strip(),
        "title": text_field(form, "title", max_len=1000),
        "collection": text_field(form, "collection", max_len=200).strip(),
        "tags": text_field(form, "tags", max_len=2000),
        "body": text_field(form, "body", max_len=MAX_BODY_FORM),
        "status": text_field(form, "status", max_len=16) or "draft",
        "original_language": text_field(form, "original_language", max_len=16),
    }


@router.post("/admin/kb/preview")
def preview_fragment(login: PageLogin, form: SessionForm) -> Response:
    """The editor's live preview: the body rendered and sanitised exactly as the help center."""
    _require_admin(login)
    body = text_field(form, "body", max_len=MAX_BODY_FORM)
    response = HTMLResponse(str(render_markdown(body)))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/kb/_assets/editor.js")
def editor_script(login: PageLogin) -> Response:
    return Response(
        EDITOR_SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.post("/admin/kb/save")
def save_article(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    _require_admin(login)
    values = _form_values(form)
    if text_field(form, "action", max_len=16) == "preview":
        return _editor(request, login, runtime, values)
    if not values["key"] and values["mode"] == "new":
        values["key"] = _key_from_title(values["title"])
    try:
        if not values["key"]:
            raise InvalidInput(
                "Give the article an id: lowercase letters, digits and '-' (like reset-password)."
            )
        tags = _tags(values["tags"])
        with runtime.db.write() as session:
            if values["mode"] == "new" and article_versions(
                session, login.workspace_id, values["key"]
            ):
                raise Conflict(
                    f"An article with the id {values['key']!r} exists already: choose another id "
                    "or edit that article."
                )
            if values["mode"] != "new":
                access_article(session, login.workspace_id, _check_key(values["key"]))
            article = do_save_article(
                session,
                login.workspace_id,
                key=values["key"],
                language=values["language"],
                title=values["title"],
                body=values["body"],
                collection=values["collection"] or None,
                tags=tags,
                status=values["status"],
            )
            key = article.key
    except (InvalidInput, Conflict) as exc:
        return _editor(request, login, runtime, values, error=exc.message, status_code=exc.status)
    return redirect(f"/admin/kb/articles/{key}?saved=1")


# One article -------------------------------------------------------------------------------


@router.get("/admin/kb/articles/{key}")
def article_page(request: Request, key: str, login: PageLogin, runtime: RuntimeDep) -> Response:
    key = _check_key(key)
    with runtime.db.read() as session:
        versions = article_versions(session, login.workspace_id, key)
        if not versions:
            raise NotFound(f"Article {key!r} was not found.")
        original = versions[0]
        examples = list_examples(session, login.workspace_id, key)
        workspace = session.get(Workspace, login.workspace_id)
        slug = workspace.slug if workspace is not None else ""
        have = {v.language for v in versions}
        context = {
            "section": "kb",
            "kb_section": "articles",
            "key": key,
            "original": original,
            "versions": versions,
            "outdated": outdated_languages(versions),
            "examples": examples,
            "missing": [(c, n) for c, n in LANGUAGES if c not in have],
            "languages": LANGUAGES,
            "help_url": f"/help/{slug}/articles/{key}",
            "preview": render_markdown(original.body),
            "notice": "Saved." if request.query_params.get("saved") else None,
        }
    return render(request, "agent/admin/kb_article.html", context, login=login)


@router.post("/admin/kb/articles/{key}/status")
def set_status(key: str, login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    _require_admin(login)
    key = _check_key(key)
    language = text_field(form, "language", max_len=16) or None
    status = text_field(form, "status", max_len=16)
    with runtime.db.write() as session:
        article = access_article(session, login.workspace_id, key, language)
        do_set_status(session, article, status)
    return redirect(f"/admin/kb/articles/{key}")


@router.post("/admin/kb/articles/{key}/delete")
def delete_article(key: str, login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    _require_admin(login)
    key = _check_key(key)
    language = text_field(form, "language", max_len=16) or None
    with runtime.db.write() as session:
        do_delete_article(session, login.workspace_id, key, language)
        left = article_versions(session, login.workspace_id, key)
    return redirect(f"/admin/kb/articles/{key}" if left else "/admin/kb")


@router.post("/admin/kb/articles/{key}/examples")
def add_example(key: str, login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    _require_admin(login)
    key = _check_key(key)
    text = text_field(form, "text", max_len=2000)
    language = text_field(form, "language", max_len=16)
    with runtime.db.write() as session:
        if do_add_example(session, login.workspace_id, key, text, language=language) is None:
            raise Conflict("This article has that example question already.")
    return redirect(f"/admin/kb/articles/{key}#examples")


@router.post("/admin/kb/examples/{example_id}/delete")
def delete_example(
    example_id: str, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    _require_admin(login)
    number = optional_int({"id": example_id}, "id")
    if number is None:
        raise NotFound("No such example question.")
    with runtime.db.write() as session:
        example = session.get(KbExample, number)
        key = example.article_key if example is not None else ""
        do_delete_example(session, login.workspace_id, number)
    return redirect(f"/admin/kb/articles/{key}#examples")


# Collections -----------------------------------------------------------------------------------


@router.get("/admin/kb/collections")
def collections_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        collections = list_collections(session, login.workspace_id)
        counts: dict[int, int] = defaultdict(int)
        for row in list_articles(session, login.workspace_id):
            if row.is_original and row.collection_id is not None:
                counts[row.collection_id] += 1
    return render(
        request,
        "agent/admin/kb_collections.html",
        {
            "section": "kb",
            "kb_section": "collections",
            "collections": collections,
            "counts": counts,
            "languages": LANGUAGES,
            "notice": "Collection saved." if request.query_params.get("saved") else None,
        },
        login=login,
    )


@router.post("/admin/kb/collections")
def save_collection(login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    _require_admin(login)
    slug = text_field(form, "slug", max_len=200).strip()
    if not ARTICLE_ID.match(slug):
        raise InvalidInput(
            "A collection's id is lowercase letters, digits, '-' or '_' (like getting-started)."
        )
    name = text_field(form, "name", max_len=200)
    description = text_field(form, "description", max_len=2000)
    position = optional_int(form, "position")
    translations: dict[str, Any] = {}
    for code in SUPPORTED:
        t_name = text_field(form, f"name_{code}", max_len=200).strip()
        t_description = text_field(form, f"description_{code}", max_len=2000).strip()
        if t_name or t_description:
            translations[code] = {"name": t_name, "description": t_description}
    with runtime.db.write() as session:
        do_save_collection(
            session,
            login.workspace_id,
            slug,
            name=name,
            description=description,
            position=position,
            translations=translations,
        )
    return redirect(f"/admin/kb/collections?saved=1#collection-{slug}")

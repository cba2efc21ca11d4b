"""/api/v1/collections and /api/v1/articles: the knowledge base, its example questions and its
search. Every change goes through :mod:`frontdesk.knowledge.store`, so the search index of
every process picks it up on its next query (the workspace's ``kb_revision``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.errors import Conflict, NotFound
from frontdesk.knowledge.store import (
    access_article,
    access_collection,
    article_versions,
    do_add_example,
    do_delete_article,
    do_delete_example,
    do_save_article,
    do_save_collection,
    do_set_status,
)
from frontdesk.language.detect import SUPPORTED, detect_language
from frontdesk.store.models import KbArticle, KbCollection, KbExample
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paginate
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import SupportedLanguage, error_responses
from frontdesk.web.api.schemas_articles import (
    ArticleDetail,
    ArticleKey,
    ArticleStatus,
    ArticleVersionDetail,
    ArticleVersionPage,
    ArticleVersionPublic,
    ArticleVersionPut,
    CollectionCreate,
    CollectionPage,
    CollectionPublic,
    CollectionSlug,
    CollectionTranslations,
    CollectionUpdate,
    ExampleCreate,
    ExampleId,
    ExamplePage,
    ExamplePublic,
    SearchHit,
    SearchResults,
    VersionLanguage,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(tags=["knowledge base"], route_class=ApiRoute)

MAX_SEARCH_RESULTS = 20


def _translations(value: CollectionTranslations) -> dict[str, Any]:
    return {
        language: {"name": texts.name, "description": texts.description}
        for language in SUPPORTED
        if (texts := getattr(value, language)) is not MISSING
    }


def _collection_public(collection: KbCollection) -> CollectionPublic:
    return CollectionPublic.model_validate(
        {
            "id": collection.id,
            "slug": collection.slug,
            "name": collection.name,
            "description": collection.description,
            "position": collection.position,
            "translations": collection.translations or {},
            "created_at": collection.created_at,
        }
    )


def _version_fields(row: KbArticle) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "language": row.language,
        "is_original": row.is_original,
        "title": row.title,
        "collection": row.collection.slug if row.collection is not None else None,
        "tags": [str(t) for t in row.tags or ()],
        "status": row.status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _detail(session: Session, workspace_id: int, key: str) -> ArticleDetail:
    versions = article_versions(session, workspace_id, key)
    if not versions:
        raise NotFound(f"Article {key!r} was not found.")
    original = versions[0]
    return ArticleDetail(
        key=key,
        collection=original.collection.slug if original.collection is not None else None,
        versions=[
            ArticleVersionDetail.model_validate({**_version_fields(v), "body": v.body})
            for v in versions
        ],
    )


# Collections -----------------------------------------------------------------------------------


@router.get("/collections", summary="List collections", responses=error_responses(401, 422))
def list_collections(
    client: ApiClientDep, runtime: RuntimeDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> CollectionPage:
    after = decode_cursor(runtime, "collections", cursor)
    query = select(KbCollection).where(KbCollection.workspace_id == client.workspace_id)
    if after is not None:
        query = query.where(KbCollection.id > after)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(KbCollection.id).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "collections", rows, limit, lambda c: c.id)
        return CollectionPage(data=[_collection_public(c) for c in page], next_cursor=next_cursor)


@router.post(
    "/collections",
    status_code=201,
    summary="Create a collection",
    responses=error_responses(400, 401, 409, 413, 422),
)
def create_collection(
    body: CollectionCreate, client: ApiClientDep, runtime: RuntimeDep
) -> CollectionPublic:
    with runtime.db.write() as session:
        exists = session.scalar(
            select(KbCollection.id).where(
                KbCollection.workspace_id == client.workspace_id, KbCollection.slug == body.slug
            )
        )
        if exists is not None:
            raise Conflict(f"A collection {body.slug!r} exists already: PATCH it instead.")
        collection = do_save_collection(
            session,
            client.workspace_id,
            body.slug,
            name=body.name,
            description=body.description if body.description is not MISSING else "",
            position=body.position if body.position is not MISSING else None,
            translations=_translations(body.translations)
            if body.translations is not MISSING
            else None,
        )
        return _collection_public(collection)


@router.get(
    "/collections/{slug}", summary="Get a collection", responses=error_responses(401, 404, 422)
)
def get_collection(
    slug: CollectionSlug, client: ApiClientDep, runtime: RuntimeDep
) -> CollectionPublic:
    with runtime.db.read() as session:
        return _collection_public(access_collection(session, client.workspace_id, slug))


@router.patch(
    "/collections/{slug}",
    summary="Update a collection",
    description="Fields left out stay as they are; translations replaces all translations.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def update_collection(
    slug: CollectionSlug, body: CollectionUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> CollectionPublic:
    with runtime.db.write() as session:
        access_collection(session, client.workspace_id, slug)
        collection = do_save_collection(
            session,
            client.workspace_id,
            slug,
            name=body.name if body.name is not MISSING else None,
            description=body.description if body.description is not MISSING else None,
            position=body.position if body.position is not MISSING else None,
            translations=_translations(body.translations)
            if body.translations is not MISSING
            else None,
        )
        return _collection_public(collection)


# Search (before /articles/{key}, which would take "search" as a key) ---------------------------


@router.get(
    "/articles/search",
    summary="Search the published articles",
    description="In any supported language: a question in Thai finds an English article when no "
    "Thai translation exists. Each hit is an article with the passage that matches best.",
    responses=error_responses(401, 422),
)
def search_articles(
    client: ApiClientDep,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="The question.")],
    language: Annotated[
        SupportedLanguage | None,
        Query(description="The question's language; detected when left out."),
    ] = None,
    k: Annotated[
        int, Query(ge=1, le=MAX_SEARCH_RESULTS, description="How many articles at most.")
    ] = 5,
) -> SearchResults:
    query = " ".join(q.split())
    used = language or detect_language(query, fallback="en").language
    if used not in SUPPORTED:
        used = "en"
    hits: list[SearchHit] = []
    with runtime.db.read() as session:
        index = runtime.knowledge.index(session, client.workspace_id)
        for hit in index.search(query, used, k) if query else []:
            passage = hit.passage
            hits.append(
                SearchHit(
                    article_key=hit.article_id,
                    language=passage.language,
                    title=passage.title,
                    heading=passage.heading,
                    anchor=passage.anchor,
                    text=passage.text,
                    score=hit.score,
                )
            )
    return SearchResults(query=query, language=used, data=hits)


# Articles --------------------------------------------------------------------------------------


@router.get(
    "/articles",
    summary="List article versions",
    description="One item per language version, oldest first, filtered by status, language and "
    "collection (its slug).",
    responses=error_responses(401, 422),
)
def list_articles(
    client: ApiClientDep,
    runtime: RuntimeDep,
    status: ArticleStatus | None = None,
    language: SupportedLanguage | None = None,
    collection: Annotated[
        str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,127}$", max_length=128)
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ArticleVersionPage:
    after = decode_cursor(runtime, "articles", cursor)
    query = select(KbArticle).where(KbArticle.workspace_id == client.workspace_id)
    if status is not None:
        query = query.where(KbArticle.status == status)
    if language is not None:
        query = query.where(KbArticle.language == language)
    if collection is not None:
        query = query.join(KbCollection, KbCollection.id == KbArticle.collection_id).where(
            KbCollection.slug == collection
        )
    if after is not None:
        query = query.where(KbArticle.id > after)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(KbArticle.id).limit(limit + 1)).unique().all()
        page, next_cursor = paginate(runtime, "articles", rows, limit, lambda a: a.id)
        return ArticleVersionPage(
            data=[ArticleVersionPublic.model_validate(_version_fields(a)) for a in page],
            next_cursor=next_cursor,
        )


@router.get(
    "/articles/{key}",
    summary="Get an article with all its versions",
    responses=error_responses(401, 404, 422),
)
def get_article(key: ArticleKey, client: ApiClientDep, runtime: RuntimeDep) -> ArticleDetail:
    with runtime.db.read() as session:
        return _detail(session, client.workspace_id, key)


@router.put(
    "/articles/{key}/versions/{language}",
    summary="Create or replace a version of an article",
    description="The first version of a key creates the article (its original); a version in "
    "another language is a translation. 201 when the version is new, 200 when replaced.",
    responses={
        201: {"model": ArticleVersionDetail, "description": "The version was created."},
        **error_responses(400, 401, 413, 422),
    },
)
def put_version(
    key: ArticleKey,
    language: VersionLanguage,
    body: ArticleVersionPut,
    client: ApiClientDep,
    runtime: RuntimeDep,
    response: Response,
) -> ArticleVersionDetail:
    with runtime.db.write() as session:
        existed = any(
            v.language == language for v in article_versions(session, client.workspace_id, key)
        )
        row = do_save_article(
            session,
            client.workspace_id,
            key=key,
            language=language,
            title=body.title,
            body=body.body,
            collection=body.collection if body.collection is not MISSING else None,
            tags=body.tags if body.tags is not MISSING else None,
            status=body.status if body.status is not MISSING else None,
        )
        result = ArticleVersionDetail.model_validate({**_version_fields(row), "body": row.body})
    response.status_code = 200 if existed else 201
    return result


def _set_status(
    runtime: RuntimeDep, workspace_id: int, key: str, language: str, status: str
) -> ArticleVersionDetail:
    with runtime.db.write() as session:
        row = access_article(session, workspace_id, key, language)
        do_set_status(session, row, status)
        return ArticleVersionDetail.model_validate({**_version_fields(row), "body": row.body})


@router.post(
    "/articles/{key}/versions/{language}/publish",
    summary="Publish a version",
    description="It shows in the help center and the bot answers from it.",
    responses=error_responses(401, 404, 422),
)
def publish(
    key: ArticleKey, language: VersionLanguage, client: ApiClientDep, runtime: RuntimeDep
) -> ArticleVersionDetail:
    return _set_status(runtime, client.workspace_id, key, language, "published")


@router.post(
    "/articles/{key}/versions/{language}/unpublish",
    summary="Unpublish a version",
    description="Back to draft: hidden from the help center, the search and the bot.",
    responses=error_responses(401, 404, 422),
)
def unpublish(
    key: ArticleKey, language: VersionLanguage, client: ApiClientDep, runtime: RuntimeDep
) -> ArticleVersionDetail:
    return _set_status(runtime, client.workspace_id, key, language, "draft")


@router.delete(
    "/articles/{key}",
    status_code=204,
    summary="Delete an article",
    description="Every version and its example questions.",
    responses=error_responses(401, 404, 422),
)
def delete_article(key: ArticleKey, client: ApiClientDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        do_delete_article(session, client.workspace_id, key)
    return Response(status_code=204)


@router.delete(
    "/articles/{key}/versions/{language}",
    status_code=204,
    summary="Delete a version",
    description="A translation alone; the original's language deletes the whole article.",
    responses=error_responses(401, 404, 422),
)
def delete_version(
    key: ArticleKey, language: VersionLanguage, client: ApiClientDep, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        do_delete_article(session, client.workspace_id, key, language)
    return Response(status_code=204)


# Example questions -------------------------------------------------------------------------------


@router.get(
    "/articles/{key}/examples",
    summary="List an article's example questions",
    responses=error_responses(401, 404, 422),
)
def list_examples(
    key: ArticleKey,
    client: ApiClientDep,
    runtime: RuntimeDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ExamplePage:
    after = decode_cursor(runtime, "examples", cursor)
    with runtime.db.read() as session:
        access_article(session, client.workspace_id, key)
        query = select(KbExample).where(
            KbExample.workspace_id == client.workspace_id, KbExample.article_key == key
        )
        if after is not None:
            query = query.where(KbExample.id > after)
        rows = session.scalars(query.order_by(KbExample.id).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "examples", rows, limit, lambda e: e.id)
        return ExamplePage(
            data=[ExamplePublic.model_validate(e) for e in page], next_cursor=next_cursor
        )


@router.post(
    "/articles/{key}/examples",
    status_code=201,
    summary="Add an example question",
    description="A question the article answers, in the language it is written in. The same "
    "text twice is a 409.",
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
def add_example(
    key: ArticleKey, body: ExampleCreate, client: ApiClientDep, runtime: RuntimeDep
) -> ExamplePublic:
    with runtime.db.write() as session:
        example = do_add_example(
            session, client.workspace_id, key, body.text, language=body.language
        )
        if example is None:
            raise Conflict("This article has that example question already.")
        return ExamplePublic.model_validate(example)


@router.delete(
    "/articles/{key}/examples/{example_id}",
    status_code=204,
    summary="Delete an example question",
    responses=error_responses(401, 404, 422),
)
def delete_example(
    key: ArticleKey, example_id: ExampleId, client: ApiClientDep, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        example = session.get(KbExample, example_id)
        if (
            example is None
            or example.workspace_id != client.workspace_id
            or example.article_key != key
        ):
            raise NotFound(f"Example question {example_id} of article {key!r} was not found.")
        do_delete_example(session, client.workspace_id, example_id)
    return Response(status_code=204)

"""Request and response shapes of the knowledge-base API (collections, articles, examples,
search). Same rules as :mod:`frontdesk.web.api.schemas`: inputs forbid unknown fields, fields
left out mean "unchanged", and every constraint the server checks is written in the schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import MISSING, BaseModel, BeforeValidator, Field

from frontdesk.knowledge.articles import MAX_ARTICLE_CHARS
from frontdesk.knowledge.store import MAX_EXAMPLE_CHARS, MAX_TITLE_CHARS
from frontdesk.language.detect import SUPPORTED
from frontdesk.web.api.schemas import (
    MAX_ID,
    NON_BLANK,
    Description,
    Input,
    Name,
    Output,
    Page,
    SupportedLanguage,
    Tags,
    _json_integer,
)

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,127}$"

Key = Annotated[
    str,
    Field(
        pattern=KEY_PATTERN,
        max_length=128,
        examples=["reset-password"],
        description="Lowercase letters, digits, '-' and '_'.",
    ),
]
ArticleKey = Annotated[
    str,
    Path(
        pattern=KEY_PATTERN,
        max_length=128,
        description="An article's id (the same for all its language versions).",
    ),
]
CollectionSlug = Annotated[
    str, Path(pattern=KEY_PATTERN, max_length=128, description="A collection's id.")
]
# A pattern rather than an enum: the same values, and schemathesis' enum scenario for path
# parameters mislabels a negative body as positive.
VersionLanguage = Annotated[
    str,
    Path(
        pattern="^(" + "|".join(SUPPORTED) + ")$",
        description="The language of one version of the article: " + ", ".join(SUPPORTED) + ".",
    ),
]
ExampleId = Annotated[int, Path(ge=1, le=MAX_ID, description="An example question's id.")]
ArticleStatus = Literal["draft", "published"]
Title = Annotated[
    str, Field(min_length=1, max_length=MAX_TITLE_CHARS, pattern=NON_BLANK, examples=["Reset"])
]
Body = Annotated[
    str,
    Field(
        min_length=1,
        pattern=NON_BLANK,
        description=f"The article in Markdown, at most {MAX_ARTICLE_CHARS:,} characters. Raw "
        "HTML is shown as text; links keep only http(s), mailto and relative URLs.",
    ),
]
Position = Annotated[int, Field(ge=0, le=100_000), BeforeValidator(_json_integer)]


# Collections -----------------------------------------------------------------------------------


class CollectionText(BaseModel):
    name: str = ""
    description: str = ""


class CollectionTextIn(Input):
    name: Annotated[str, Field(max_length=200)] = ""
    description: Description = ""


class CollectionTranslations(Input):
    """The collection's name and description in other languages; a language left out has none."""

    en: CollectionTextIn | MISSING = MISSING
    th: CollectionTextIn | MISSING = MISSING
    el: CollectionTextIn | MISSING = MISSING
    zh: CollectionTextIn | MISSING = MISSING
    id: CollectionTextIn | MISSING = MISSING
    es: CollectionTextIn | MISSING = MISSING
    de: CollectionTextIn | MISSING = MISSING


class CollectionPublic(Output):
    id: int
    slug: str
    name: str
    description: str
    position: int
    translations: dict[str, CollectionText] = Field(
        description="Per language code: the translated name and description."
    )
    created_at: datetime


class CollectionCreate(Input):
    slug: Key
    name: Name
    description: Description | MISSING = MISSING
    position: Position | MISSING = MISSING
    translations: CollectionTranslations | MISSING = MISSING


class CollectionUpdate(Input):
    name: Name | MISSING = MISSING
    description: Description | MISSING = MISSING
    position: Position | MISSING = MISSING
    translations: CollectionTranslations | MISSING = Field(
        default=MISSING, description="Replaces all the translations."
    )


class CollectionPage(Page[CollectionPublic]):
    pass


# Articles --------------------------------------------------------------------------------------


class ArticleVersionPublic(Output):
    id: int
    key: str
    language: str
    is_original: bool = Field(description="The first version written; the others translate it.")
    title: str
    collection: str | None = Field(description="The collection's slug.")
    tags: list[str]
    status: str = Field(description="draft or published")
    created_at: datetime
    updated_at: datetime


class ArticleVersionDetail(ArticleVersionPublic):
    body: str


class ArticleDetail(BaseModel):
    key: str
    collection: str | None
    versions: list[ArticleVersionDetail] = Field(description="The original first.")


class ArticleVersionPage(Page[ArticleVersionPublic]):
    pass


class ArticleVersionPut(Input):
    """One language version. The first version of an article is its original; a version in
    another language is a translation and takes the original's collection and tags unless
    given."""

    title: Title
    body: Body
    collection: Key | MISSING = Field(
        default=MISSING,
        description="A collection's slug (an unknown one is created). Left out: unchanged.",
    )
    tags: Tags | MISSING = Field(default=MISSING, description="Replaces the tags.")
    status: ArticleStatus | MISSING = Field(
        default=MISSING, description="Left out: unchanged, or draft for a new version."
    )


# Example questions -------------------------------------------------------------------------------


class ExamplePublic(Output):
    id: int
    article_key: str
    language: str
    text: str
    source: str = Field(description="admin (written by a person) or learned (from a conversation)")
    conversation_id: int | None
    created_at: datetime


class ExampleCreate(Input):
    text: Annotated[str, Field(min_length=1, max_length=MAX_EXAMPLE_CHARS, pattern=NON_BLANK)]
    language: SupportedLanguage


class ExamplePage(Page[ExamplePublic]):
    pass


# Search ------------------------------------------------------------------------------------------


class SearchHit(BaseModel):
    article_key: str
    language: str = Field(description="The language of the passage found.")
    title: str
    heading: str
    anchor: str = Field(description="The section's anchor in the article page (may be empty).")
    text: str = Field(description="The passage that matches.")
    score: float = Field(description="Higher is better; comparable within one search only.")


class SearchResults(BaseModel):
    query: str
    language: str = Field(description="The query's language: given, or detected.")
    data: list[SearchHit]

"""Articles to suggest: while the customer types (F2), and by keyword when the bot cannot
answer (F6, the seeds' "task bot").

Typing suggestions must come back well within a keystroke's pause, so they use one model (e5,
the only one that reads every supported language) plus the lexical signal, not the full fusion.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sqlalchemy.orm import Session

from frontdesk.knowledge.index import Hit, KnowledgeIndex
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import viewed_since
from frontdesk.language.tokenize import tokenize
from frontdesk.store.models import Workspace, utcnow

__all__ = [
    "has_words",
    "keyword_matches",
    "keyword_suggestions_allowed",
    "suggest_while_typing",
    "suggestion",
]

MAX_SUGGESTIONS = 3
MAX_QUERY_CHARS = 300
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def suggestion(
    knowledge: KnowledgeRegistry, workspace: Workspace, hit: Hit, language: str
) -> dict[str, Any]:
    """The link to show for a hit: the version in the customer's language when there is one."""
    versions = knowledge.versions(workspace.id, hit.article_id)
    version = next((v for v in versions if v.language == language), None) or next(
        (v for v in versions if v.translation_of is None), None
    )
    shown = version.language if version is not None else hit.passage.language
    return {
        "id": hit.article_id,
        "title": version.title if version is not None else hit.passage.title,
        "language": shown,
        "url": f"/help/{workspace.slug}/articles/{hit.article_id}?lang={shown}",
    }


def suggest_while_typing(
    index: KnowledgeIndex,
    knowledge: KnowledgeRegistry,
    workspace: Workspace,
    text: str,
    language: str,
) -> list[dict[str, Any]]:
    text = " ".join(text.split())[:MAX_QUERY_CHARS]
    if len(text) < 3 or not len(index) or not has_words(text):
        return []
    names = [e.name for e in index.embedders]
    fast = "e5" if "e5" in names else (names[0] if names else None)
    fusion = dataclasses.replace(index.fusion, weights={fast: 1.0} if fast else {})
    hits = index.search(text, language, k=MAX_SUGGESTIONS, fusion=fusion)
    return [suggestion(knowledge, workspace, h, language) for h in hits]


def has_words(text: str) -> bool:
    """Whether ``text`` has anything to search for: a word or a number once links are left out
    (only emoji, punctuation or a pasted URL would suggest three arbitrary articles)."""
    return bool(tokenize(_URL.sub(" ", text)))


def keyword_matches(
    knowledge: KnowledgeRegistry, workspace_id: int, hits: list[Hit], text: str
) -> list[Hit]:
    """The hits whose article tags (its keywords, in any of its versions) occur in ``text``."""
    words = set(tokenize(text))
    matched: list[Hit] = []
    for hit in hits:
        tags = {t for v in knowledge.versions(workspace_id, hit.article_id) for t in v.tags}
        if any(set(tokenize(tag)) <= words for tag in tags if tokenize(tag)):
            matched.append(hit)
    return matched[:MAX_SUGGESTIONS]


def keyword_suggestions_allowed(
    session: Session, workspace: Workspace, customer_id: int, now: dt.datetime | None = None
) -> bool:
    """F6: not for a visitor who viewed the help center in the last quiet minutes."""
    quiet = workspace.keyword_suggestions_quiet_minutes
    since = (now or utcnow()) - dt.timedelta(minutes=quiet)
    return not viewed_since(session, workspace.id, customer_id, since)

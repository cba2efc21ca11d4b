"""First-time routing accuracy (F19), computed from the event log.

Of the conversations that were handed off or routed (a ``handed_off`` or ``routed`` event),
the share that never moved to another team: no ``reassigned`` event whose ``from_team_id``
and ``to_team_id`` are two different teams. Leaving a team for none (the team was deleted) and
a first team after triage are not moves between teams; changing the agent inside a team is not
either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.store.models import ConversationEvent

__all__ = ["RoutingAccuracy", "first_time_routing_accuracy", "moved_between_teams"]

_CHUNK = 500


@dataclass(frozen=True)
class RoutingAccuracy:
    conversations: int  # handed off or routed
    first_time: int  # of those, never moved to another team
    # by how each was routed (rule, learned, guardrail, triage; "unrouted" for a handoff
    # without a routed event): (conversations, first_time)
    by_method: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        return self.first_time / self.conversations if self.conversations else None


def _is_move(data: dict[str, object]) -> bool:
    before, after = data.get("from_team_id"), data.get("to_team_id")
    return before is not None and after is not None and before != after


def moved_between_teams(
    session: Session, workspace_id: int, conversation_ids: list[int]
) -> set[int]:
    moved: set[int] = set()
    for start in range(0, len(conversation_ids), _CHUNK):
        chunk = conversation_ids[start : start + _CHUNK]
        rows = session.execute(
            select(ConversationEvent.conversation_id, ConversationEvent.data).where(
                ConversationEvent.workspace_id == workspace_id,
                ConversationEvent.type == "reassigned",
                ConversationEvent.conversation_id.in_(chunk),
            )
        )
        for conversation_id, data in rows:
            if conversation_id is not None and _is_move(data or {}):
                moved.add(int(conversation_id))
    return moved


def first_time_routing_accuracy(
    session: Session,
    workspace_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RoutingAccuracy:
    """Accuracy over conversations handed off or routed between ``since`` and ``until``."""
    query = select(
        ConversationEvent.conversation_id, ConversationEvent.type, ConversationEvent.data
    ).where(
        ConversationEvent.workspace_id == workspace_id,
        ConversationEvent.type.in_(("routed", "handed_off")),
        ConversationEvent.conversation_id.is_not(None),
    )
    if since is not None:
        query = query.where(ConversationEvent.created_at >= since)
    if until is not None:
        query = query.where(ConversationEvent.created_at < until)
    method: dict[int, str] = {}
    for conversation_id, event_type, data in session.execute(query.order_by(ConversationEvent.id)):
        cid = int(conversation_id)
        if event_type == "routed":
            if method.get(cid, "unrouted") == "unrouted":
                method[cid] = str((data or {}).get("by") or "unrouted")
        else:
            method.setdefault(cid, "unrouted")
    ids = sorted(method)
    moved = moved_between_teams(session, workspace_id, ids)
    totals: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for cid in ids:
        totals[method[cid]] += 1
        if cid not in moved:
            kept[method[cid]] += 1
    return RoutingAccuracy(
        conversations=len(ids),
        first_time=len(ids) - len(moved),
        by_method={m: (totals[m], kept[m]) for m in sorted(totals)},
    )

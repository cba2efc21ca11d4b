"""Ordered lists of a workspace's rows (assignment rules, SLA policies): ``position`` 0 first.

One way to reorder and move them, under a lock on the workspace row so that two admins
reordering at once on PostgreSQL do not interleave (SQLite has one writer anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.store.models import Workspace


class Positioned(Protocol):
    id: int
    position: int


T = TypeVar("T", bound=Positioned)


def lock_workspace(session: Session, workspace_id: int) -> None:
    """Serialise changes to one workspace's ordered lists; NotFound if it does not exist."""
    found = session.execute(
        select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"Workspace {workspace_id} was not found.")


def renumber(items: Sequence[Positioned]) -> None:
    for position, item in enumerate(items):
        if item.position != position:
            item.position = position


def reorder(items: Sequence[T], ids: Sequence[int], *, field: str, noun: str) -> list[T]:
    """``items`` (in their current order) with ``ids`` first, in that order, the others after
    them as they were; positions renumbered. ``noun`` names an item in errors ("SLA policy")."""
    if len(set(ids)) != len(ids):
        raise InvalidInput(
            f"{field} lists a {noun} twice; list each {noun} once.",
            details=[{"field": field, "message": "duplicate id"}],
        )
    by_id = {item.id: item for item in items}
    for item_id in ids:
        if item_id not in by_id:
            raise NotFound(f"{noun[0].upper()}{noun[1:]} {item_id} was not found.")
    listed = set(ids)
    ordered = [by_id[i] for i in ids] + [item for item in items if item.id not in listed]
    renumber(ordered)
    return ordered


def moved(ids: Sequence[int], item_id: int, offset: int) -> list[int]:
    """``ids`` with ``item_id`` moved up (``offset`` < 0) or down, within the list's ends."""
    order = list(ids)
    index = order.index(item_id)
    target = min(max(index + offset, 0), len(order) - 1)
    order.insert(target, order.pop(index))
    return order

"""Read-only queries behind the agent inbox (and reusable by the API): conversation lists per
view with filters, keyset pagination and counts per view, in a fixed number of SQL queries."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, and_, case, false, func, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from frontdesk.domain.conversation import CHANNELS, PRIORITIES, STATUSES, TICKET_CHANNELS
from frontdesk.errors import InvalidInput
from frontdesk.store.models import Conversation, TeamMember

VIEWS: Final = ("mine", "teams", "unassigned", "triage", "bot", "all")
VIEW_LABELS: Final = {
    "mine": "Mine",
    "teams": "My teams",
    "unassigned": "Unassigned",
    "triage": "Triage",
    "bot": "With the bot",
    "all": "All",
}


# The orders of the list: most recent activity first, or the nearest SLA deadline first
# (breached ones on top, conversations without a running SLA clock last).
SORTS: Final = ("recent", "sla")
SORT_LABELS: Final = {"recent": "Most recent", "sla": "Time left (SLA)"}


@dataclass(frozen=True)
class ConversationFilters:
    """``None`` means "any". The inbox's default status is ``open``."""

    status: str | None = "open"
    priority: str | None = None
    team_id: int | None = None
    channel: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput(f"Unknown status {self.status!r}.")
        if self.priority is not None and self.priority not in PRIORITIES:
            raise InvalidInput(f"Unknown priority {self.priority!r}.")
        if self.channel is not None and self.channel not in CHANNELS:
            raise InvalidInput(f"Unknown channel {self.channel!r}.")
        if self.language is not None and len(self.language) > 8:
            raise InvalidInput("Language codes have at most 8 characters.")


@dataclass(frozen=True)
class ConversationPage:
    rows: list[Conversation]  # each with ``customer`` loaded
    next_cursor: str | None


def _with_the_bot(bot_on: bool) -> ColumnElement[bool]:
    """Chats the bot is still handling (conversations.attention): no person, team or triage
    yet. A handoff puts a chat on a team or in triage, so it leaves this set."""
    if not bot_on:
        return false()
    return and_(
        Conversation.assignee_id.is_(None),
        Conversation.team_id.is_(None),
        Conversation.in_triage.is_(False),
        Conversation.channel.not_in(TICKET_CHANNELS),
    )


def _view_condition(view: str, agent_id: int, bot_on: bool = False) -> ColumnElement[bool]:
    """``bot_on``: the workspace's bot takes the first turn in chats; its conversations are
    in their own view, out of Unassigned (as Intercom and Chatwoot keep them out of the
    agents' queue until a handoff)."""
    if view == "mine":
        return Conversation.assignee_id == agent_id
    if view == "teams":
        my_teams = select(TeamMember.team_id).where(TeamMember.agent_id == agent_id)
        return Conversation.team_id.in_(my_teams)
    if view == "unassigned":
        return and_(Conversation.assignee_id.is_(None), not_(_with_the_bot(bot_on)))
    if view == "triage":
        return Conversation.in_triage.is_(True)
    if view == "bot":
        return _with_the_bot(bot_on)
    if view == "all":
        return Conversation.id.is_not(None)
    raise InvalidInput(f"Unknown view {view!r}; use one of {', '.join(VIEWS)}.")


def _filter_conditions(workspace_id: int, filters: ConversationFilters) -> list[Any]:
    conditions: list[Any] = [Conversation.workspace_id == workspace_id]
    if filters.status is not None:
        conditions.append(Conversation.status == filters.status)
    if filters.priority is not None:
        conditions.append(Conversation.priority == filters.priority)
    if filters.team_id is not None:
        conditions.append(Conversation.team_id == filters.team_id)
    if filters.channel is not None:
        conditions.append(Conversation.channel == filters.channel)
    if filters.language is not None:
        conditions.append(Conversation.language == filters.language)
    return conditions


def encode_cursor(conversation: Conversation) -> str:
    raw = f"{conversation.last_message_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, _, ident = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is invalid; start again from the first page.") from exc


def encode_sla_cursor(conversation: Conversation) -> str:
    due = conversation.sla_due_at.isoformat() if conversation.sla_due_at else ""
    raw = f"sla|{due}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_sla_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, when, ident = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        if kind != "sla":
            raise ValueError("not a cursor of this order")
        moment = datetime.fromisoformat(when) if when else None
        if moment is not None and moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is invalid; start again from the first page.") from exc


def _after_sla_cursor(cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor in the order (due_at NULLS LAST, id)."""
    moment, ident = decode_sla_cursor(cursor)
    due = Conversation.sla_due_at
    if moment is None:
        return and_(due.is_(None), Conversation.id > ident)
    return or_(due > moment, and_(due == moment, Conversation.id > ident), due.is_(None))


def list_query(
    workspace_id: int,
    *,
    view: str,
    agent_id: int,
    filters: ConversationFilters,
    bot_on: bool = False,
) -> Select[Conversation]:
    return select(Conversation).where(
        *_filter_conditions(workspace_id, filters), _view_condition(view, agent_id, bot_on)
    )


def list_conversations(
    session: Session,
    workspace_id: int,
    *,
    view: str,
    agent_id: int,
    filters: ConversationFilters,
    cursor: str | None = None,
    limit: int = 50,
    sort: str = "recent",
    bot_on: bool = False,
) -> ConversationPage:
    """Conversations of one view, most recent activity first (or, ``sort="sla"``, the nearest
    SLA deadline first); one SQL query (customer joined). ``bot_on``: the workspace's bot
    takes the first turn (:func:`frontdesk.conversations.attention.workspace_has_bot`)."""
    if not 1 <= limit <= 200:
        raise InvalidInput("limit is from 1 to 200.")
    if sort not in SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}.")
    query = list_query(workspace_id, view=view, agent_id=agent_id, filters=filters, bot_on=bot_on)
    if sort == "sla":
        if cursor:
            query = query.where(_after_sla_cursor(cursor))
        query = query.order_by(
            case((Conversation.sla_due_at.is_(None), 1), else_=0),
            Conversation.sla_due_at,
            Conversation.id,
        ).limit(limit + 1)
        found = list(session.scalars(query).unique().all())
        more = encode_sla_cursor(found[limit - 1]) if len(found) > limit else None
        return ConversationPage(rows=found[:limit], next_cursor=more)
    if cursor:
        moment, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                Conversation.last_message_at < moment,
                and_(Conversation.last_message_at == moment, Conversation.id < ident),
            )
        )
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(
        limit + 1
    )
    rows = list(session.scalars(query).unique().all())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ConversationPage(rows=rows[:limit], next_cursor=next_cursor)


def view_counts(
    session: Session,
    workspace_id: int,
    *,
    agent_id: int,
    filters: ConversationFilters,
    bot_on: bool = False,
) -> dict[str, int]:
    """How many conversations each view holds under ``filters``: one SQL query."""
    columns = [
        func.coalesce(
            func.sum(case((_view_condition(view, agent_id, bot_on), 1), else_=0)), 0
        ).label(view)
        for view in VIEWS
    ]
    row = session.execute(select(*columns).where(*_filter_conditions(workspace_id, filters))).one()
    return {view: int(row._mapping[view] or 0) for view in VIEWS}

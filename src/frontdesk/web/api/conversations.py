"""/api/v1/conversations: list with filters, read, start one, change it, read its event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import MISSING, BaseModel, ConfigDict, Field
from sqlalchemy import Select, and_, case, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from frontdesk.conversations.actions import (
    access_conversation,
    do_assign,
    do_change_priority,
    do_change_status,
    do_set_tags,
    existing_message,
)
from frontdesk.conversations.events import Actor, event_payload
from frontdesk.customers.actions import access_customer
from frontdesk.domain.conversation import Channel, Priority, Status, clean_text
from frontdesk.errors import InvalidInput
from frontdesk.inbound import InboundMessage, receive
from frontdesk.store.models import Agent, Conversation, ConversationEvent, TeamMember
from frontdesk.web.api.customers import find_or_create_customer
from frontdesk.web.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    paginate,
)
from frontdesk.web.api.params import ConversationId
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    MAX_ID,
    ConversationCreate,
    ConversationCreateForCustomerId,
    ConversationPage,
    ConversationPublic,
    ConversationUpdate,
    EventPage,
    EventPublic,
    LanguageCode,
    Time,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/conversations", tags=["conversations"], route_class=ApiRoute)


class ConversationFilters(BaseModel):
    """The filters of the conversation list: only these names, only these values."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] = Field(default_factory=list, description="Repeat to match several.")
    priority: list[Priority] = Field(default_factory=list, description="Repeat for several.")
    channel: list[Channel] = Field(default_factory=list, description="Repeat for several.")
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    customer_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    language: LanguageCode | None = None
    in_triage: bool | None = None
    updated_after: Time | None = Field(
        default=None, description="Only conversations changed after this time (with timezone)."
    )
    sort: Literal["newest", "sla"] = Field(
        default="newest",
        description="newest: newest first; sla: time left, the nearest SLA deadline first "
        "(breached ones on top), conversations without a running SLA clock last.",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        default=None, max_length=300, description="The next_cursor of the previous page."
    )


# The key of the time-left order in a cursor: the deadline (µs since 1970, or _NO_DUE when
# none) and the id, in one integer.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_DUE = 2**62
_ID_SPAN = 2**53


def sla_key(conversation: Conversation) -> int:
    due = conversation.sla_due_at
    micros = _NO_DUE if due is None else (due - _EPOCH) // timedelta(microseconds=1)
    return micros * _ID_SPAN + conversation.id


def _by_id(conversation: Conversation) -> int:
    return conversation.id


def _after_sla_key(key: int) -> ColumnElement[bool]:
    micros, last_id = divmod(key, _ID_SPAN)
    due = Conversation.sla_due_at
    if micros >= _NO_DUE:
        return and_(due.is_(None), Conversation.id > last_id)
    moment = _EPOCH + timedelta(microseconds=micros)
    return or_(due > moment, and_(due == moment, Conversation.id > last_id), due.is_(None))


def conversation_list_query(
    workspace_id: int,
    filters: ConversationFilters,
    *,
    before_id: int | None,
    sla_after: int | None = None,
) -> Select[Conversation]:
    """Newest first (or by time left); every value is a bound parameter, every column from the
    allow-list above."""
    query = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if filters.status:
        query = query.where(Conversation.status.in_(filters.status))
    if filters.priority:
        query = query.where(Conversation.priority.in_(filters.priority))
    if filters.channel:
        query = query.where(Conversation.channel.in_(filters.channel))
    if filters.team_id is not None:
        query = query.where(Conversation.team_id == filters.team_id)
    if filters.assignee_id is not None:
        query = query.where(Conversation.assignee_id == filters.assignee_id)
    if filters.customer_id is not None:
        query = query.where(Conversation.customer_id == filters.customer_id)
    if filters.language is not None:
        query = query.where(Conversation.language == filters.language)
    if filters.in_triage is not None:
        query = query.where(Conversation.in_triage.is_(filters.in_triage))
    if filters.updated_after is not None:
        query = query.where(Conversation.updated_at > filters.updated_after)
    if filters.sort == "sla":
        if sla_after is not None:
            query = query.where(_after_sla_key(sla_after))
        return query.order_by(
            case((Conversation.sla_due_at.is_(None), 1), else_=0),
            Conversation.sla_due_at,
            Conversation.id,
        ).limit(filters.limit + 1)
    if before_id is not None:
        query = query.where(Conversation.id < before_id)
    return query.order_by(Conversation.id.desc()).limit(filters.limit + 1)


@router.get(
    "",
    summary="List conversations",
    description="Newest first (or sort=sla: by time left), filtered by status, priority, "
    "channel, team, assignee, customer, language, triage and last change.",
    responses=error_responses(401, 422),
)
def list_conversations(
    filters: Annotated[ConversationFilters, Query()], client: ApiClientDep, runtime: RuntimeDep
) -> ConversationPage:
    if filters.sort == "sla":
        after = decode_cursor(runtime, "conversations-sla", filters.cursor)
        query = conversation_list_query(
            client.workspace_id, filters, before_id=None, sla_after=after
        )
        scope, key = "conversations-sla", sla_key
    else:
        before = decode_cursor(runtime, "conversations", filters.cursor)
        query = conversation_list_query(client.workspace_id, filters, before_id=before)
        scope, key = "conversations", _by_id
    with runtime.db.read() as session:
        rows = session.scalars(query).all()
        page, next_cursor = paginate(runtime, scope, rows, filters.limit, key)
        data = [ConversationPublic.model_validate(c) for c in page]
    return ConversationPage(data=data, next_cursor=next_cursor)


def _public(session: Session, workspace_id: int, conversation_id: int) -> ConversationPublic:
    return ConversationPublic.model_validate(
        access_conversation(session, workspace_id, conversation_id)
    )


@router.post(
    "",
    status_code=201,
    summary="Start a conversation",
    description="A customer's message on channel api, for a customer given by id or found by "
    "external_id/email (created if new). It takes the same ingest path as the widget's "
    "messages. With a client_id already used, the stored conversation is returned (200).",
    responses={
        200: {"model": ConversationPublic, "description": "Already stored (same client_id)."},
        **error_responses(400, 401, 404, 409, 413, 422),
    },
)
def create_conversation(
    body: ConversationCreate, client: ApiClientDep, runtime: RuntimeDep, response: Response
) -> ConversationPublic:
    text = clean_text(body.body, max_chars=runtime.settings.max_message_chars)
    client_id = body.client_id if body.client_id is not MISSING else None
    actor = Actor("api", client.token.id)
    with runtime.db.write() as session:
        previous = existing_message(session, client.workspace_id, client_id)
        if previous is None:
            if isinstance(body, ConversationCreateForCustomerId):
                customer = access_customer(session, client.workspace_id, body.customer_id)
            else:
                customer = find_or_create_customer(
                    session, client.workspace_id, body.customer, actor=actor
                )
            customer_id = customer.id
    if previous is not None:
        response.status_code = 200
        with runtime.db.read() as session:
            return _public(session, client.workspace_id, previous.conversation_id)
    result = receive(
        runtime.db,
        InboundMessage(
            workspace_id=client.workspace_id,
            channel="api",
            customer_id=customer_id,
            text=text,
            client_id=client_id,
            subject=body.subject if body.subject is not MISSING else None,
        ),
        max_chars=runtime.settings.max_message_chars,
    )
    if result.duplicate:
        response.status_code = 200
    with runtime.db.read() as session:
        return _public(session, client.workspace_id, result.conversation_id)


@router.get(
    "/{conversation_id}",
    summary="Get a conversation",
    responses=error_responses(401, 404, 422),
)
def get_conversation(
    conversation_id: ConversationId, client: ApiClientDep, runtime: RuntimeDep
) -> ConversationPublic:
    with runtime.db.read() as session:
        return _public(session, client.workspace_id, conversation_id)


def _kept_assignee(session: Session, conversation: Conversation, team_id: int | None) -> int | None:
    """When only the team changes: the assignee stays if still active and in the new team."""
    assignee_id = conversation.assignee_id
    if assignee_id is None:
        return None
    agent = session.get(Agent, assignee_id)
    if agent is None or not agent.is_active:
        return None
    if team_id is not None and session.get(TeamMember, (team_id, assignee_id)) is None:
        return None
    return assignee_id


@router.patch(
    "/{conversation_id}",
    summary="Change a conversation",
    description="Status (snoozed needs snoozed_until), priority, team, assignee and tags. Fields "
    "left out stay as they are. All changes happen together or not at all, and each is "
    "recorded as an event with actor api. Changing only the team keeps the assignee if they "
    "are a member of the new team.",
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
def update_conversation(
    conversation_id: ConversationId,
    body: ConversationUpdate,
    client: ApiClientDep,
    runtime: RuntimeDep,
) -> ConversationPublic:
    actor = Actor("api", client.token.id)
    with runtime.db.write() as session:
        conversation = access_conversation(session, client.workspace_id, conversation_id)
        if body.team_id is not MISSING or body.assignee_id is not MISSING:
            team_id = body.team_id if body.team_id is not MISSING else conversation.team_id
            if body.assignee_id is not MISSING:
                assignee_id = body.assignee_id
            else:
                assignee_id = _kept_assignee(session, conversation, team_id)
            do_assign(session, conversation, team_id=team_id, assignee_id=assignee_id, actor=actor)
        if body.status is not MISSING:
            snoozed_until = body.snoozed_until if body.snoozed_until is not MISSING else None
            do_change_status(
                session, conversation, body.status, actor=actor, snoozed_until=snoozed_until
            )
        elif body.snoozed_until is not MISSING:
            raise InvalidInput(
                "snoozed_until goes with status 'snoozed': send both.",
                details=[{"field": "status", "message": "required with snoozed_until"}],
            )
        if body.priority is not MISSING:
            do_change_priority(session, conversation, body.priority, actor=actor)
        if body.tags is not MISSING:
            do_set_tags(session, conversation, body.tags, actor=actor)
        session.flush()
        return ConversationPublic.model_validate(conversation)


@router.get(
    "/{conversation_id}/events",
    summary="A conversation's event log",
    description="Everything that happened to the conversation, oldest first.",
    responses=error_responses(401, 404, 422),
)
def conversation_events(
    conversation_id: ConversationId,
    client: ApiClientDep,
    runtime: RuntimeDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> EventPage:
    after = decode_cursor(runtime, f"conversation-events:{conversation_id}", cursor)
    with runtime.db.read() as session:
        access_conversation(session, client.workspace_id, conversation_id)
        query = select(ConversationEvent).where(
            ConversationEvent.conversation_id == conversation_id
        )
        if after is not None:
            query = query.where(ConversationEvent.id > after)
        rows = session.scalars(query.order_by(ConversationEvent.id).limit(limit + 1)).all()
        page, next_cursor = paginate(
            runtime, f"conversation-events:{conversation_id}", rows, limit, lambda e: e.id
        )
        data = [EventPublic.model_validate(event_payload(e)) for e in page]
    return EventPage(data=data, next_cursor=next_cursor)

"""/api/v1/events: the workspace's event log, for metrics and workflows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from frontdesk.conversations.events import event_payload
from frontdesk.store.models import ConversationEvent
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paginate
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import MAX_ID, EventPage, EventPublic, error_responses
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/events", tags=["events"], route_class=ApiRoute)

EventType = Annotated[
    str,
    Query(
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="Only events of this type, e.g. status_changed or message_received.",
    ),
]


@router.get(
    "",
    summary="List events",
    description="Every recorded change of the workspace, oldest first: conversation_created, "
    "message_received, agent_replied, note_added, assigned, reassigned, status_changed, "
    "priority_changed, tags_changed, customer_updated, … Poll with after_id (the last id "
    "seen) to follow new events.",
    responses=error_responses(401, 422),
)
def list_events(
    client: ApiClientDep,
    runtime: RuntimeDep,
    type: EventType | None = None,
    conversation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after_id: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Only events with a higher id.")
    ] = 0,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> EventPage:
    after = max(after_id, decode_cursor(runtime, "events", cursor) or 0)
    query = select(ConversationEvent).where(
        ConversationEvent.workspace_id == client.workspace_id, ConversationEvent.id > after
    )
    if type is not None:
        query = query.where(ConversationEvent.type == type)
    if conversation_id is not None:
        query = query.where(ConversationEvent.conversation_id == conversation_id)
    with runtime.db.read() as session:
        rows = session.scalars(query.order_by(ConversationEvent.id).limit(limit + 1)).all()
        page, next_cursor = paginate(runtime, "events", rows, limit, lambda e: e.id)
        data = [EventPublic.model_validate(event_payload(e)) for e in page]
    return EventPage(data=data, next_cursor=next_cursor)

"""/api/v1/conversations/{id}/messages: the transcript, and writing to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from frontdesk.accounts.actions import access_agent
from frontdesk.conversations.actions import (
    access_conversation,
    do_add_note,
    do_send_agent_reply,
    existing_message,
)
from frontdesk.domain.conversation import clean_text
from frontdesk.errors import Conflict
from frontdesk.inbound import InboundMessage, receive
from frontdesk.runtime import Runtime
from frontdesk.store.models import Message
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paginate
from frontdesk.web.api.params import ConversationId
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    MAX_ID,
    AgentMessageCreate,
    CustomerMessageCreate,
    MessageCreate,
    MessagePage,
    MessagePublic,
    error_responses,
)
from frontdesk.web.deps import ApiClient, ApiClientDep, RuntimeDep

router = APIRouter(
    prefix="/conversations/{conversation_id}/messages", tags=["messages"], route_class=ApiRoute
)


@router.get(
    "",
    summary="A conversation's messages",
    description="Oldest first, by sequence number, with internal notes and system lines: API "
    "callers are the company. after_seq returns only what came after a known message.",
    responses=error_responses(401, 404, 422),
)
def list_messages(
    conversation_id: ConversationId,
    client: ApiClientDep,
    runtime: RuntimeDep,
    after_seq: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Only messages with a higher seq.")
    ] = 0,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> MessagePage:
    scope = f"messages:{conversation_id}"
    after = max(after_seq, decode_cursor(runtime, scope, cursor) or 0)
    with runtime.db.read() as session:
        access_conversation(session, client.workspace_id, conversation_id)
        rows = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.seq > after)
            .order_by(Message.seq)
            .limit(limit + 1)
        ).all()
        page, next_cursor = paginate(runtime, scope, rows, limit, lambda m: m.seq)
        data = [MessagePublic.model_validate(m) for m in page]
    return MessagePage(data=data, next_cursor=next_cursor)


def _stored(runtime: Runtime, workspace_id: int, client_id: str | None) -> Message | None:
    with runtime.db.read() as session:
        return existing_message(session, workspace_id, client_id)


def _write_as_customer(
    runtime: Runtime,
    client: ApiClient,
    conversation_id: int,
    body: CustomerMessageCreate,
    response: Response,
) -> MessagePublic:
    text = clean_text(body.body, max_chars=runtime.settings.max_message_chars)
    with runtime.db.read() as session:
        conversation = access_conversation(session, client.workspace_id, conversation_id)
        customer_id = conversation.customer_id
    result = receive(
        runtime.db,
        InboundMessage(
            workspace_id=client.workspace_id,
            channel="api",
            customer_id=customer_id,
            text=text,
            conversation_id=conversation_id,
            client_id=body.client_id if body.client_id is not MISSING else None,
        ),
        max_chars=runtime.settings.max_message_chars,
    )
    if result.duplicate:
        response.status_code = 200
    with runtime.db.read() as session:
        return MessagePublic.model_validate(session.get(Message, result.message_id))


def _write_as_agent(
    runtime: Runtime,
    client: ApiClient,
    conversation_id: int,
    body: AgentMessageCreate,
    response: Response,
) -> MessagePublic:
    client_id = body.client_id if body.client_id is not MISSING else None
    try:
        with runtime.db.write() as session:
            conversation = access_conversation(session, client.workspace_id, conversation_id)
            agent = access_agent(session, client.workspace_id, body.agent_id)
            previous = existing_message(session, client.workspace_id, client_id)
            if previous is not None:
                if previous.conversation_id != conversation.id:
                    raise Conflict(
                        f"client_id {client_id!r} was used for a message of another conversation."
                    )
                response.status_code = 200
                return MessagePublic.model_validate(previous)
            if not agent.is_active:
                raise Conflict(f"Agent {agent.id} is deactivated and cannot write.")
            text = clean_text(body.body, max_chars=runtime.settings.max_message_chars)
            if body.kind == "note":
                message = do_add_note(session, conversation, agent, body=text, client_id=client_id)
            else:
                message = do_send_agent_reply(
                    session, conversation, agent, body=text, client_id=client_id
                )
            result = MessagePublic.model_validate(message)
    except IntegrityError:
        # The same client_id raced in from a retry: the other request stored it.
        previous = _stored(runtime, client.workspace_id, client_id)
        if previous is None or previous.conversation_id != conversation_id:
            raise
        response.status_code = 200
        return MessagePublic.model_validate(previous)
    return result


@router.post(
    "",
    status_code=201,
    summary="Write a message",
    description="As an agent (the default author): a reply the customer sees, or an internal "
    'note (kind "note"), on behalf of agent_id. As the customer (author "customer"): the '
    "message takes the same ingest path as the widget's and reopens a resolved conversation "
    "(a closed one stays closed and the message starts a new conversation). With a client_id "
    "already used, the stored message is returned (200) and nothing is stored twice.",
    responses={
        200: {"model": MessagePublic, "description": "Already stored (same client_id)."},
        **error_responses(400, 401, 404, 409, 413, 422),
    },
)
def create_message(
    conversation_id: ConversationId,
    body: MessageCreate,
    client: ApiClientDep,
    runtime: RuntimeDep,
    response: Response,
) -> MessagePublic:
    if isinstance(body, CustomerMessageCreate):
        return _write_as_customer(runtime, client, conversation_id, body, response)
    return _write_as_agent(runtime, client, conversation_id, body, response)

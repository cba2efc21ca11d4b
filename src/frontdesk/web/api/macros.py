"""/api/v1/macros: canned replies with variables and actions (F26).

The token is the company's: it sees and manages shared macros and every agent's personal ones
(``owner_id``). Rendering and applying happen on behalf of an agent (``agent_id``), who may
use the shared macros and their own. Bodies are checked when saved: a syntax error, an
unknown variable or anything beyond variables, a few filters and ``{% if %}`` is a 422 whose
details give the field and the line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import (
    MISSING,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
    model_validator,
)
from sqlalchemy.exc import IntegrityError

from frontdesk.accounts.actions import access_agent
from frontdesk.automation.macros import (
    ACTION_STATUSES,
    MAX_BODY_CHARS,
    VARIABLE_LIST,
    access_macro,
    apply_macro,
    do_create_macro,
    do_delete_macro,
    do_update_macro,
    list_macros,
    render_macro,
    search_macros,
)
from frontdesk.conversations.actions import access_conversation, existing_message
from frontdesk.errors import Conflict
from frontdesk.store.models import Macro
from frontdesk.web.api.pagination import DEFAULT_LIMIT, decode_cursor, paginate
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    MAX_ID,
    NON_BLANK,
    ClientId,
    ConversationPublic,
    Id,
    Input,
    LanguageCode,
    MessageBody,
    MessagePublic,
    Name,
    Output,
    Page,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/macros", tags=["macros"], route_class=ApiRoute)

MacroId = Annotated[int, Path(ge=1, le=MAX_ID, description="A macro's id.")]

Body = Annotated[
    str,
    Field(
        max_length=MAX_BODY_CHARS,
        description="The reply, with variables: "
        + ", ".join("{{ " + v + " }}" for v in VARIABLE_LIST.split(", "))
        + '; defaults: {{ customer.first_name | default("there") }}; filters lower, upper, '
        "title, capitalize, trim, truncate; {% if %}. Empty: the macro only applies actions.",
    ),
]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=NON_BLANK)]
TeamSlug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", max_length=63)]
ActionStatus = Literal["open", "pending", "resolved", "closed"]
assert ActionStatus.__args__ == ACTION_STATUSES  # type: ignore[attr-defined]


class MacroActions(Input):
    """What applying the macro does besides replying."""

    tags: Annotated[list[Tag], Field(min_length=1, max_length=30)] | MISSING = Field(
        default=MISSING, description="Tags to add (the conversation keeps its others)."
    )
    status: ActionStatus | MISSING = MISSING
    team: Id | TeamSlug | MISSING = Field(
        default=MISSING, description="Move to this team (id or slug); its assignment applies."
    )
    priority: Literal["low", "normal", "high", "urgent"] | MISSING = MISSING


_LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"
Variants = Annotated[
    dict[LanguageCode, Body],
    Field(max_length=20),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 20,
            "propertyNames": {"pattern": _LANGUAGE_PATTERN, "maxLength": 8},
            "additionalProperties": {"type": "string", "maxLength": MAX_BODY_CHARS},
            "description": 'The body in other languages: {"de": "Hallo …"}. The variant in the '
            "conversation's (else the customer's) language is used, else the body.",
        }
    ),
]
# A macro must do something: a body with some text, or at least one action.
_DOES_SOMETHING: list[JsonValue] = [
    {"required": ["body"], "properties": {"body": {"pattern": NON_BLANK}}},
    {"required": ["actions"], "properties": {"actions": {"minProperties": 1}}},
]


class MacroCreate(Input):
    """A body with some text, or at least one action (or both)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": _DOES_SOMETHING})

    name: Name
    body: Body = ""
    language: LanguageCode = Field(default="en", description="The language of body.")
    variants: Variants | MISSING = MISSING
    actions: MacroActions | MISSING = MISSING
    owner_id: Id | None = Field(
        default=None, description="An agent's id: a personal macro only they see. null: shared."
    )

    @model_validator(mode="after")
    def _does_something(self) -> MacroCreate:
        if not self.body.strip() and (self.actions is MISSING or not _has_action(self.actions)):
            raise ValueError("a macro needs a body or at least one action")
        return self


class MacroUpdate(Input):
    """Fields left out stay; ``variants`` and ``actions`` replace the old ones. Emptying the
    body needs actions in the same request, and removing every action a body with text: a
    macro always does something."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "required": ["body"],
                        "properties": {"body": {"not": {"pattern": NON_BLANK}}},
                    },
                    "then": _DOES_SOMETHING[1],
                },
                {
                    "if": {
                        "required": ["actions"],
                        "properties": {"actions": {"maxProperties": 0}},
                    },
                    "then": _DOES_SOMETHING[0],
                },
            ]
        },
    )

    name: Name | MISSING = MISSING
    body: Body | MISSING = MISSING
    language: LanguageCode | MISSING = MISSING
    variants: Variants | MISSING = MISSING
    actions: MacroActions | MISSING = MISSING
    owner_id: Id | MISSING | None = Field(default=MISSING, description="null: make it shared.")

    @model_validator(mode="after")
    def _keeps_doing_something(self) -> MacroUpdate:
        blank = self.body is not MISSING and not self.body.strip()
        if blank and (self.actions is MISSING or not _has_action(self.actions)):
            raise ValueError("emptying the body needs at least one action in the same request")
        if self.actions is not MISSING and not _has_action(self.actions):
            if self.body is MISSING or not self.body.strip():
                raise ValueError("removing every action needs a body with text in the request")
        return self


def _has_action(actions: MacroActions) -> bool:
    return bool(actions.model_dump(exclude_unset=True))


class MacroPublic(Output):
    id: int
    name: str
    body: str
    language: str
    variants: dict[str, str]
    actions: dict[str, Any] = Field(description="tags, status, team (an id), priority")
    owner_id: int | None = Field(description="null: shared with every agent.")
    uses: int = Field(description="How many times it was applied.")
    created_at: datetime
    updated_at: datetime


class MacroPage(Page[MacroPublic]):
    pass


class MacroFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["all", "shared", "personal"] = "all"
    owner_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Only this agent's personal macros."
    )
    visible_to: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Only macros this agent may use."
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=300)


class MacroRender(Input):
    conversation_id: Id
    agent_id: Id | MISSING = Field(
        default=MISSING, description="Whose name {{ agent.name }} prints (and whose macro)."
    )


class MacroRendered(BaseModel):
    macro_id: int
    body: str
    language: str = Field(description="The language of the variant used.")


class MacroApply(Input):
    conversation_id: Id
    agent_id: Id = Field(description="The agent on whose behalf the reply is sent.")
    body: MessageBody | MISSING = Field(
        default=MISSING, description="The text to send instead of the rendered macro."
    )
    client_id: ClientId | MISSING = MISSING


class MacroApplied(BaseModel):
    macro_id: int
    message: MessagePublic | None = Field(description="The reply sent; null for actions only.")
    conversation: ConversationPublic
    changes: dict[str, Any] = Field(description="What the actions changed.")


class MacroSearchResult(BaseModel):
    data: list[MacroPublic]


def _public(macro: Macro) -> MacroPublic:
    return MacroPublic.model_validate(
        {
            "id": macro.id,
            "name": macro.name,
            "body": macro.body,
            "language": macro.language,
            "variants": dict(macro.variants or {}),
            "actions": dict(macro.actions or {}),
            "owner_id": macro.owner_id,
            "uses": macro.uses,
            "created_at": macro.created_at,
            "updated_at": macro.updated_at,
        }
    )


def _values(body: MacroCreate | MacroUpdate) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True)


@router.get("", summary="List macros", description="By id.", responses=error_responses(401, 422))
def list_all(
    filters: Annotated[MacroFilters, Query()], client: ApiClientDep, runtime: RuntimeDep
) -> MacroPage:
    after = decode_cursor(runtime, "macros", filters.cursor)
    with runtime.db.read() as session:
        rows = list_macros(
            session,
            client.workspace_id,
            visible_to=filters.visible_to,
            scope=filters.scope,
            owner_id=filters.owner_id,
            after_id=after,
            limit=filters.limit + 1,
        )
        page, next_cursor = paginate(runtime, "macros", rows, filters.limit, lambda m: m.id)
        return MacroPage(data=[_public(m) for m in page], next_cursor=next_cursor)


@router.get(
    "/search",
    summary="Search macros",
    description="The macros an agent may use whose name or body contains every word of q "
    "(case and accents ignored), best first: what the inbox's reply box shows as you type.",
    responses=error_responses(401, 404, 422),
)
def search(
    client: ApiClientDep,
    runtime: RuntimeDep,
    agent_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> MacroSearchResult:
    with runtime.db.read() as session:
        access_agent(session, client.workspace_id, agent_id)
        found = search_macros(session, client.workspace_id, agent_id, q, limit=limit)
        return MacroSearchResult(data=[_public(m) for m in found])


@router.post(
    "",
    status_code=201,
    summary="Create a macro",
    responses=error_responses(400, 401, 404, 413, 422),
)
def create(body: MacroCreate, client: ApiClientDep, runtime: RuntimeDep) -> MacroPublic:
    values = _values(body)
    with runtime.db.write() as session:
        macro = do_create_macro(
            session,
            client.workspace_id,
            name=values["name"],
            body=values.get("body", ""),
            language=values.get("language", "en"),
            variants=values.get("variants"),
            actions=values.get("actions"),
            owner_id=values.get("owner_id"),
        )
        return _public(macro)


@router.get("/{macro_id:int}", summary="Get a macro", responses=error_responses(401, 404, 422))
def get_macro(macro_id: MacroId, client: ApiClientDep, runtime: RuntimeDep) -> MacroPublic:
    with runtime.db.read() as session:
        return _public(access_macro(session, client.workspace_id, macro_id))


@router.patch(
    "/{macro_id:int}",
    summary="Update a macro",
    responses=error_responses(400, 401, 404, 413, 422),
)
def update(
    macro_id: MacroId, body: MacroUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> MacroPublic:
    with runtime.db.write() as session:
        macro = access_macro(session, client.workspace_id, macro_id)
        return _public(do_update_macro(session, macro, _values(body)))


@router.delete(
    "/{macro_id:int}",
    status_code=204,
    summary="Delete a macro",
    responses=error_responses(401, 404, 422),
)
def delete(macro_id: MacroId, client: ApiClientDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        do_delete_macro(session, access_macro(session, client.workspace_id, macro_id))
    return Response(status_code=204)


@router.post(
    "/{macro_id:int}/render",
    summary="Render a macro for a conversation",
    description="The text the macro would send (in the conversation's language if it has that "
    "variant); nothing is sent or changed.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def render(
    macro_id: MacroId, body: MacroRender, client: ApiClientDep, runtime: RuntimeDep
) -> MacroRendered:
    with runtime.db.read() as session:
        conversation = access_conversation(session, client.workspace_id, body.conversation_id)
        agent = None
        if body.agent_id is not MISSING:
            agent = access_agent(session, client.workspace_id, body.agent_id)
        macro = access_macro(
            session,
            client.workspace_id,
            macro_id,
            agent_id=agent.id if agent is not None else None,
        )
        rendered = render_macro(session, macro, conversation, agent)
        return MacroRendered(macro_id=macro.id, body=rendered.text, language=rendered.language)


@router.post(
    "/{macro_id:int}/apply",
    status_code=201,
    summary="Apply a macro to a conversation",
    description="Sends the reply (the rendered macro, or body) as agent_id and applies the "
    "actions (tags added, priority, team, status last) in one transaction, and counts the use. "
    "With a client_id already used in this conversation, nothing happens again: the stored "
    "reply is returned with 200.",
    responses={
        200: {"model": MacroApplied, "description": "Already applied (same client_id)."},
        **error_responses(400, 401, 404, 409, 413, 422),
    },
)
def apply(
    macro_id: MacroId,
    body: MacroApply,
    client: ApiClientDep,
    runtime: RuntimeDep,
    response: Response,
) -> MacroApplied:
    client_id = body.client_id if body.client_id is not MISSING else None
    try:
        with runtime.db.write() as session:
            conversation = access_conversation(session, client.workspace_id, body.conversation_id)
            agent = access_agent(session, client.workspace_id, body.agent_id)
            macro = access_macro(session, client.workspace_id, macro_id, agent_id=agent.id)
            previous = existing_message(session, client.workspace_id, client_id)
            if previous is not None:
                if previous.conversation_id != conversation.id:
                    raise Conflict(
                        f"client_id {client_id!r} was used for a message of another conversation."
                    )
                response.status_code = 200
                return MacroApplied(
                    macro_id=macro.id,
                    message=MessagePublic.model_validate(previous),
                    conversation=ConversationPublic.model_validate(conversation),
                    changes={},
                )
            if not agent.is_active:
                raise Conflict(f"Agent {agent.id} is deactivated and cannot write.")
            applied = apply_macro(
                session,
                conversation,
                agent,
                macro,
                body=body.body if body.body is not MISSING else None,
                max_chars=runtime.settings.max_message_chars,
                client_id=client_id,
            )
            session.flush()
            session.refresh(conversation)
            return MacroApplied(
                macro_id=macro.id,
                message=MessagePublic.model_validate(applied.message) if applied.message else None,
                conversation=ConversationPublic.model_validate(conversation),
                changes=applied.changes,
            )
    except IntegrityError:
        # The same client_id raced in from a retry: the other request applied it.
        raise Conflict("This client_id was just used; retry to get the stored reply.") from None

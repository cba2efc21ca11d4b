"""The request and response shapes of the REST API, one family per resource.

Inputs forbid unknown fields (``extra="forbid"``), so ``workspace_id``, ``role``, ``password`` or
``verified`` slipped into a body where they are not allowed are a 422, never a silent write
(RELIABILITY row 4). Optional fields that must not be ``null`` use pydantic's ``MISSING``
sentinel: leaving a field out means "unchanged", and ``null`` is only accepted where it means
something (clearing a team, an assignee, an attribute).

The constraints are written into the schemas (lengths, patterns, enums, id ranges) so that the
OpenAPI document tells clients what is accepted and the server refuses the rest before any
database work.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    MISSING,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    WithJsonSchema,
    model_validator,
)

from frontdesk.domain.conversation import Priority, Status
from frontdesk.store.models import MAX_QUIET_MINUTES

# Ids fit every database's integers and JSON's exact range: a larger number is a 422, never a
# driver overflow (500). Body ids are strict: "1" or 1.0 is not an id.
MAX_ID = 2**53 - 1


def _json_integer(value: Any) -> Any:
    """JSON's integers only: 7 and 7.0, not "7" or true (pydantic's lax mode would take them)."""
    if isinstance(value, str | bool):
        raise ValueError("must be an integer")
    return value


def _iso_time(value: Any) -> Any:
    """An ISO 8601 date-time only, not a number of seconds (pydantic's lax mode takes those)."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]", value):
        raise ValueError("must be a date-time such as 2026-01-31T09:00:00Z")
    return value


# Constraints go before the BeforeValidator, or pydantic leaves them out of the JSON schema.
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]
StrictBool = Annotated[bool, Strict()]
Time = Annotated[AwareDatetime, BeforeValidator(_iso_time)]

# Whitespace for every regex engine that reads these patterns (pydantic's Rust engine, Python's
# re behind str.strip(), ECMAScript in clients): \s plus what only some of them count.
_SPACE = r"\s\x1c-\x1f\x85"
# "Some text": at least one visible character (the server strips surrounding whitespace).
NON_BLANK = rf"[^{_SPACE}]"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NON_BLANK)]
Email = Annotated[
    str,
    Field(
        max_length=320,
        pattern=rf"^[^@{_SPACE}]+@[^@{_SPACE}]+$",
        examples=["ana@example.com"],
        description="An email address (stored in lowercase).",
    ),
]
ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=NON_BLANK,
        description="Your own id of this person (the widget's user_id).",
    ),
]
LanguageCode = Annotated[
    str,
    Field(
        pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$",
        max_length=8,
        examples=["en", "th", "zh"],
        description="A language code such as en, th or zh-Hant.",
    ),
]
ClientId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Your id for this message: sending it again returns the stored message "
        "instead of storing a second copy.",
    ),
]
MessageBody = Annotated[
    str,
    Field(
        min_length=1,
        pattern=NON_BLANK,
        description="Plain text; the server's limit is the max_message_chars setting "
        "(10,000 characters by default).",
    ),
]
Tags = Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=30)]
Origin = Annotated[
    str,
    Field(
        max_length=300,
        pattern=(
            r"^(\*|https?://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
            r"[A-Za-z0-9])?)*(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}"
            r"|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?/?)$"
        ),
        examples=["https://www.example.com"],
        description="scheme://host[:port] of a site allowed to embed the widget, or *.",
    ),
]

# Customer attributes: well-known keys have a type; any other lowercase key holds a plain value
# (see frontdesk.customers.attributes, which enforces the same rules).
_PLAIN_STRING: dict[str, Any] = {"type": "string", "maxLength": 1000}
_ATTRIBUTE_VALUE: dict[str, Any] = {
    "anyOf": [
        _PLAIN_STRING,
        {"type": "number"},
        {"type": "boolean"},
        {
            "type": "array",
            "maxItems": 100,
            "items": {"anyOf": [_PLAIN_STRING, {"type": "number"}, {"type": "boolean"}]},
        },
        {"type": "null"},
    ]
}
ATTRIBUTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Customer attributes to merge: a null value removes the key. Well-known "
    "keys (plan, company_type, signup_date, spend, trial, vip, at_risk, products) have a "
    "type; any other key of lowercase letters, digits and _ holds a plain value.",
    "maxProperties": 100,
    "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,63}$"},
    "properties": {
        "plan": {"anyOf": [_PLAIN_STRING, {"type": "null"}]},
        "company_type": {"anyOf": [_PLAIN_STRING, {"type": "null"}]},
        "signup_date": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
        "spend": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "trial": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "vip": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "at_risk": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "products": {
            "anyOf": [
                {"type": "array", "maxItems": 100, "items": _PLAIN_STRING},
                {"type": "null"},
            ]
        },
    },
    "additionalProperties": _ATTRIBUTE_VALUE,
}
AttributesIn = Annotated[dict[str, Any], WithJsonSchema(ATTRIBUTES_SCHEMA)]


def _has_bad_text(value: Any) -> str | None:
    """What is wrong with the strings in a JSON value: a NUL character (PostgreSQL cannot store
    it) or a lone surrogate (not Unicode text). None when all is well."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "Text must not contain NUL characters."
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Text must be valid Unicode (it contains a lone surrogate)."
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class Input(BaseModel):
    """Base of every request body: unknown fields are refused, text must be storable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        problem = _has_bad_text(data)
        if problem:
            raise ValueError(problem)
        return data


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= to get the next page; null on the last page."
    )


# Errors ----------------------------------------------------------------------------------------


class ErrorInfo(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["Conversation 12 was not found."])
    details: list[Any] = Field(
        description="For invalid input: one {field, message} per problem.", examples=[[]]
    )


class ErrorResponse(BaseModel):
    """The one shape of every error."""

    error: ErrorInfo


# Customers -------------------------------------------------------------------------------------


class CustomerSummary(Output):
    id: int
    name: str | None
    email: str | None
    external_id: str | None


class CustomerPublic(Output):
    id: int
    external_id: str | None
    email: str | None
    name: str | None
    language: str | None
    verified: bool
    attributes: dict[str, Any]
    last_page_url: str | None
    created_at: datetime
    last_seen_at: datetime


class CustomerDetail(CustomerPublic):
    conversation_ids: list[int] = Field(description="Its conversations, newest first.")


class CustomerCreate(Input):
    email: Email | MISSING = MISSING
    name: Name | MISSING = MISSING
    external_id: ExternalId | MISSING = MISSING
    language: LanguageCode | MISSING = MISSING
    attributes: AttributesIn | MISSING = MISSING


class CustomerUpdate(Input):
    name: Name | MISSING | None = Field(default=MISSING, description="null clears the name.")
    email: Email | MISSING | None = Field(default=MISSING, description="null clears the email.")
    language: LanguageCode | MISSING | None = MISSING
    attributes: AttributesIn | MISSING = MISSING


class CustomerRef(Input):
    """Who writes: found by external_id, else by email, else created."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["email"]}, {"required": ["external_id"]}]},
    )

    email: Email | MISSING = MISSING
    name: Name | MISSING = MISSING
    external_id: ExternalId | MISSING = MISSING

    @model_validator(mode="after")
    def _identifies(self) -> CustomerRef:
        if self.email is MISSING and self.external_id is MISSING:
            raise ValueError("customer needs an email or an external_id")
        return self


class CustomerPage(Page[CustomerPublic]):
    pass


# Conversations ---------------------------------------------------------------------------------


class ConversationPublic(Output):
    id: int
    customer_id: int
    customer: CustomerSummary
    channel: str
    status: str
    priority: str
    team_id: int | None
    assignee_id: int | None
    in_triage: bool
    language: str | None
    subject: str | None
    page_url: str | None
    tags: list[str]
    snoozed_until: datetime | None
    sla_due_at: datetime | None = Field(
        description="The earliest deadline of its running SLA clocks; null when none runs."
    )
    last_seq: int
    last_message_at: datetime
    last_message_preview: str
    created_at: datetime
    updated_at: datetime


class _ConversationCreateBase(Input):
    body: MessageBody = Field(description="The customer's first message.")
    subject: Annotated[str, Field(max_length=300)] | MISSING = MISSING
    client_id: ClientId | MISSING = MISSING


class ConversationCreateForCustomerId(_ConversationCreateBase):
    customer_id: Id


class ConversationCreateForCustomer(_ConversationCreateBase):
    customer: CustomerRef


def _conversation_create_kind(value: Any) -> str:
    return "existing" if isinstance(value, dict) and "customer_id" in value else "new"


ConversationCreate = Annotated[
    Annotated[ConversationCreateForCustomerId, Tag("existing")]
    | Annotated[ConversationCreateForCustomer, Tag("new")],
    Discriminator(_conversation_create_kind),
]


_SNOOZE_RULES: dict[str, Any] = {
    "dependentRequired": {"snoozed_until": ["status"]},
    "if": {"properties": {"status": {"const": "snoozed"}}, "required": ["status"]},
    "then": {"required": ["snoozed_until"]},
    "else": {"properties": {"snoozed_until": {"type": "null"}}},
}


class ConversationUpdate(Input):
    """Fields left out stay as they are; each change is recorded as an event."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_SNOOZE_RULES)

    status: Status | MISSING = MISSING
    snoozed_until: Time | MISSING | None = Field(
        default=MISSING,
        description="With status snoozed: when it reopens (a future time with its timezone).",
    )
    priority: Priority | MISSING = MISSING
    team_id: Id | MISSING | None = Field(default=MISSING, description="null: no team.")
    assignee_id: Id | MISSING | None = Field(default=MISSING, description="null: unassigned.")
    tags: Tags | MISSING = Field(default=MISSING, description="Replaces the tags.")


class ConversationPage(Page[ConversationPublic]):
    pass


# Messages --------------------------------------------------------------------------------------


class MessagePublic(Output):
    id: int
    conversation_id: int
    seq: int
    author_type: str = Field(description="customer, bot, agent or system")
    author_id: int | None
    kind: str = Field(description="message (seen by the customer), note (internal) or system")
    body: str
    client_id: str | None
    meta: dict[str, Any]
    created_at: datetime


class AgentMessageCreate(Input):
    """A reply the customer sees, or an internal note, written on behalf of an agent."""

    author: Literal["agent"] = "agent"
    kind: Literal["reply", "note"] = "reply"
    body: MessageBody
    agent_id: Id = Field(description="The agent on whose behalf the message is written.")
    client_id: ClientId | MISSING = MISSING


class CustomerMessageCreate(Input):
    """A message from the conversation's customer (e.g. relayed from your own app)."""

    author: Literal["customer"]
    body: MessageBody
    client_id: ClientId | MISSING = MISSING


def _message_author(value: Any) -> str:
    if isinstance(value, dict) and value.get("author") == "customer":
        return "customer"
    return "agent"


MessageCreate = Annotated[
    Annotated[AgentMessageCreate, Tag("agent")] | Annotated[CustomerMessageCreate, Tag("customer")],
    Discriminator(_message_author),
]


class MessagePage(Page[MessagePublic]):
    pass


# Events ----------------------------------------------------------------------------------------


class EventActor(BaseModel):
    type: str = Field(description="customer, agent, bot, system or api")
    id: int | None


class EventPublic(BaseModel):
    id: int
    type: str
    conversation_id: int | None
    actor: EventActor
    data: dict[str, Any]
    created_at: datetime


class EventPage(Page[EventPublic]):
    pass


# Teams -----------------------------------------------------------------------------------------

Assignment = Literal["round_robin", "least_loaded", "manual"]
Description = Annotated[str, Field(max_length=2000)]


class TeamPublic(Output):
    id: int
    slug: str
    name: str
    description: str
    assignment: str
    member_ids: list[int]
    created_at: datetime


class TeamCreate(Input):
    name: Name
    slug: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")] | MISSING = MISSING
    description: Description | MISSING = MISSING
    assignment: Assignment | MISSING = MISSING


class TeamUpdate(Input):
    name: Name | MISSING = MISSING
    description: Description | MISSING = MISSING
    assignment: Assignment | MISSING = MISSING


class TeamMembers(Input):
    agent_ids: list[Id] = Field(max_length=1000, description="The team's members: replaces them.")


class TeamPage(Page[TeamPublic]):
    pass


# Agents ----------------------------------------------------------------------------------------

Role = Literal["admin", "agent"]
Availability = Literal["online", "away"]


class AgentPublic(Output):
    id: int
    email: str
    name: str
    role: str
    availability: str
    capacity: int
    is_active: bool
    team_ids: list[int]
    created_at: datetime


class AgentCreate(Input):
    email: Email
    name: Name
    role: Role = "agent"


class AgentInvited(BaseModel):
    agent: AgentPublic
    invite_url: str = Field(description="Send it to the agent: it lets them set a password once.")
    invite_expires_at: datetime


class AgentUpdate(Input):
    name: Name | MISSING = MISSING
    role: Role | MISSING = MISSING
    availability: Availability | MISSING = MISSING
    capacity: Annotated[int, Field(ge=0, le=1000), BeforeValidator(_json_integer)] | MISSING = (
        MISSING
    )
    is_active: StrictBool | MISSING = MISSING


class AgentPage(Page[AgentPublic]):
    pass


# Workspace -------------------------------------------------------------------------------------

# The languages Frontdesk detects and speaks (frontdesk.language.detect.SUPPORTED).
SupportedLanguage = Literal["en", "th", "el", "zh", "id", "es", "de"]


class WorkspacePublic(Output):
    id: int
    slug: str
    name: str
    allowed_origins: list[str]
    require_identity: bool
    default_language: str
    bot_enabled: bool
    keyword_suggestions_quiet_minutes: int


class WorkspaceUpdate(Input):
    name: Name | MISSING = MISSING
    allowed_origins: Annotated[list[Origin], Field(max_length=50)] | MISSING = MISSING
    require_identity: StrictBool | MISSING = MISSING
    default_language: SupportedLanguage | MISSING = MISSING
    bot_enabled: (
        Annotated[
            StrictBool, Field(description="Whether the bot answers customers (on by default).")
        ]
        | MISSING
    ) = MISSING
    keyword_suggestions_quiet_minutes: (
        Annotated[
            int,
            Field(
                ge=0,
                le=MAX_QUIET_MINUTES,
                description="No keyword article suggestions for a visitor who read the help center "
                "in the last this many minutes.",
            ),
            BeforeValidator(_json_integer),
        ]
        | MISSING
    ) = MISSING


# OpenAPI declarations of the error responses -----------------------------------------------------

_ERROR_TEXT = {
    400: "The request body could not be read (bad Content-Length, invalid UTF-8).",
    401: "The API token is missing, unknown or revoked.",
    404: "Nothing with this id in the token's workspace.",
    409: "The change conflicts with the current state (a duplicate, the last admin, …).",
    413: "The request body is larger than the max_body_bytes setting.",
    422: "The input is invalid: details lists each problem.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status with the one error shape."""
    return {
        status: {"model": ErrorResponse, "description": _ERROR_TEXT[status]} for status in statuses
    }

"""/api/v1/rules: assignment rules (F15), in the order they are tried.

The request shapes state every condition the server accepts: one shape per field and operator
family, so a definition the schema allows is a definition the server stores. Every change goes
through :mod:`frontdesk.routing.store`, which validates again
(:func:`frontdesk.routing.rules.validate_rule`) and checks the team and agent named.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import MISSING, BeforeValidator, ConfigDict, Field, StrictBool

from frontdesk.routing.store import (
    access_rule,
    do_create_rule,
    do_delete,
    do_reorder,
    do_update_rule,
    list_rules,
)
from frontdesk.store.models import AssignmentRule
from frontdesk.web.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_by_position
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    MAX_ID,
    NON_BLANK,
    Id,
    Input,
    Name,
    Output,
    Page,
    _json_integer,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/rules", tags=["rules"], route_class=ApiRoute)

RuleId = Annotated[int, Path(ge=1, le=MAX_ID, description="A rule's id.")]

Text = Annotated[str, Field(min_length=1, max_length=500, pattern=NON_BLANK)]
Texts = Annotated[list[Text], Field(min_length=1, max_length=100)]
Number = Annotated[
    float, Field(ge=-1e15, le=1e15, allow_inf_nan=False), BeforeValidator(_json_integer)
]
Plain = Text | Number | StrictBool
AttributeKey = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="A customer attribute: lowercase letters, digits and _.",
    ),
]
Channel = Literal["chat", "email", "web_form", "api"]
TextField = Literal["company_type", "plan", "language"]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=NON_BLANK)]
TeamSlug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", max_length=63)]


class KeywordsCondition(Input):
    """The customer's messages (and subject) contain any of these words or phrases: case- and
    accent-insensitive, whole words (a trailing * matches any ending); Thai and Chinese
    keywords match anywhere."""

    field: Literal["keywords"]
    op: Literal["any"] = "any"
    value: Texts


class ProductCondition(Input):
    """The customer's ``products`` attribute contains the product (or any of the list)."""

    field: Literal["product"]
    op: Literal["contains"] = "contains"
    value: Text | Texts


class TextCondition(Input):
    field: TextField
    op: Literal["eq", "neq"]
    value: Text


class TextInCondition(Input):
    field: TextField
    op: Literal["in"]
    value: Texts


class PlanExistsCondition(Input):
    field: Literal["plan"]
    op: Literal["exists"]
    value: StrictBool


class PageUrlCondition(Input):
    """A value starting with / is about the page's path (``/developers/``), else the full URL.
    ``glob`` takes * and ? wildcards."""

    field: Literal["page_url"]
    op: Literal["prefix", "glob"]
    value: Text


class TenureCondition(Input):
    """Days since the customer's ``signup_date``."""

    field: Literal["tenure_days"]
    op: Literal["eq", "gt", "gte", "lt", "lte"]
    value: Number


class SpendCondition(Input):
    field: Literal["spend"]
    op: Literal["eq", "neq", "gt", "gte", "lt", "lte"]
    value: Number


class ChannelCondition(Input):
    field: Literal["channel"]
    op: Literal["eq", "neq"]
    value: Channel


class ChannelInCondition(Input):
    field: Literal["channel"]
    op: Literal["in"]
    value: Annotated[list[Channel], Field(min_length=1, max_length=100)]


class AttributeCondition(Input):
    """Any customer attribute, by ``key``."""

    field: Literal["attribute"]
    key: AttributeKey
    op: Literal["eq", "neq", "contains"]
    value: Plain


class AttributeInCondition(Input):
    field: Literal["attribute"]
    key: AttributeKey
    op: Literal["in"]
    value: Annotated[list[Plain], Field(min_length=1, max_length=100)]


class AttributeCompareCondition(Input):
    field: Literal["attribute"]
    key: AttributeKey
    op: Literal["gt", "gte", "lt", "lte"]
    value: Number | date


class AttributeExistsCondition(Input):
    field: Literal["attribute"]
    key: AttributeKey
    op: Literal["exists"]
    value: StrictBool


class AttributeTextCondition(Input):
    field: Literal["attribute"]
    key: AttributeKey
    op: Literal["prefix", "glob"]
    value: Text


Condition = (
    KeywordsCondition
    | ProductCondition
    | TextCondition
    | TextInCondition
    | PlanExistsCondition
    | PageUrlCondition
    | TenureCondition
    | SpendCondition
    | ChannelCondition
    | ChannelInCondition
    | AttributeCondition
    | AttributeInCondition
    | AttributeCompareCondition
    | AttributeExistsCondition
    | AttributeTextCondition
)
Conditions = Annotated[list[Condition], Field(min_length=1, max_length=20)]


class RuleActions(Input):
    """What a matching rule does; at least one action."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    team: Id | TeamSlug | MISSING = Field(default=MISSING, description="A team's id or slug.")
    agent: Id | MISSING = Field(
        default=MISSING, description="An agent's id (a member of the team, when one is set)."
    )
    priority: Literal["low", "normal", "high", "urgent"] | MISSING = MISSING
    tags: Annotated[list[Tag], Field(min_length=1, max_length=30)] | MISSING = MISSING


class RuleCreate(Input):
    name: Name
    enabled: StrictBool | MISSING = MISSING
    match: Literal["all", "any"] | MISSING = Field(
        default=MISSING, description="all: every condition holds (default); any: at least one."
    )
    conditions: Conditions
    actions: RuleActions


class RuleUpdate(Input):
    """Fields left out stay as they are; ``actions`` replaces all the actions."""

    name: Name | MISSING = MISSING
    enabled: StrictBool | MISSING = MISSING
    match: Literal["all", "any"] | MISSING = MISSING
    conditions: Conditions | MISSING = MISSING
    actions: RuleActions | MISSING = MISSING


class RuleOrder(Input):
    rule_ids: Annotated[
        list[Id],
        Field(min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}),
    ] = Field(description="These rules first, in this order; the others follow in theirs.")


class RulePublic(Output):
    id: int
    name: str
    enabled: bool
    match: str
    position: int = Field(description="0 is tried first.")
    conditions: list[dict[str, Any]]
    actions: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RulePage(Page[RulePublic]):
    pass


def _public(rule: AssignmentRule) -> RulePublic:
    return RulePublic.model_validate(
        {
            "id": rule.id,
            "name": rule.name,
            "enabled": rule.enabled,
            "match": rule.match,
            "position": rule.position,
            "conditions": list(rule.conditions or []),
            "actions": dict(rule.actions or {}),
            "created_at": rule.created_at,
            "updated_at": rule.updated_at,
        }
    )


def _values(body: RuleCreate | RuleUpdate) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True)


@router.get(
    "",
    summary="List rules",
    description="In the order they are tried.",
    responses=error_responses(401, 422),
)
def list_all(
    client: ApiClientDep, runtime: RuntimeDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> RulePage:
    with runtime.db.read() as session:
        rules = list_rules(session, client.workspace_id)
        page, next_cursor = page_by_position(runtime, "rules", rules, limit, cursor)
        return RulePage(data=[_public(r) for r in page], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a rule",
    description="The new rule is tried last; move it with POST /rules/reorder.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def create(body: RuleCreate, client: ApiClientDep, runtime: RuntimeDep) -> RulePublic:
    with runtime.db.write() as session:
        return _public(do_create_rule(session, client.workspace_id, _values(body)))


@router.post(
    "/reorder",
    summary="Reorder rules",
    description="The rules listed come first, in the order given; the others follow in their "
    "current order. Returns every rule in the new order.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def reorder(body: RuleOrder, client: ApiClientDep, runtime: RuntimeDep) -> RulePage:
    with runtime.db.write() as session:
        rules = do_reorder(session, client.workspace_id, body.rule_ids)
        return RulePage(data=[_public(r) for r in rules], next_cursor=None)


@router.get("/{rule_id:int}", summary="Get a rule", responses=error_responses(401, 404, 422))
def get_rule(rule_id: RuleId, client: ApiClientDep, runtime: RuntimeDep) -> RulePublic:
    with runtime.db.read() as session:
        return _public(access_rule(session, client.workspace_id, rule_id))


@router.patch(
    "/{rule_id:int}",
    summary="Update a rule",
    description="Name, enabled, match, conditions and actions; fields left out stay.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def update(
    rule_id: RuleId, body: RuleUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> RulePublic:
    with runtime.db.write() as session:
        rule = access_rule(session, client.workspace_id, rule_id)
        return _public(do_update_rule(session, rule, _values(body)))


@router.delete(
    "/{rule_id:int}",
    status_code=204,
    summary="Delete a rule",
    responses=error_responses(401, 404, 422),
)
def delete(rule_id: RuleId, client: ApiClientDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        do_delete(session, access_rule(session, client.workspace_id, rule_id))
    return Response(status_code=204)

"""/api/v1/sla-policies, /api/v1/business-hours and /api/v1/sla-clocks (F31).

Policies are tried in order (``position``); the first enabled one matching a conversation's
priority and team applies. Business hours are the workspace's opening hours in its timezone,
with holidays; without them the workspace is open 24/7. Clocks are the running targets of
conversations, listed by the time left. Every change goes through
:mod:`frontdesk.automation.sla`, which validates again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Path, Query, Response
from pydantic import (
    MISSING,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
)
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from frontdesk.automation.sla import (
    MAX_MINUTES,
    access_policy,
    clear_business_hours,
    do_create_policy,
    do_delete_policy,
    do_reorder_policies,
    do_update_policy,
    has_business_hours,
    list_policies,
    load_business_hours,
    remaining_seconds,
    save_business_hours,
    used_seconds,
)
from frontdesk.domain.business_hours import MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY
from frontdesk.domain.conversation import Priority
from frontdesk.store.models import SlaClock, SlaPolicy, Workspace, utcnow
from frontdesk.web.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    page_by_position,
    paginate,
)
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import (
    MAX_ID,
    Id,
    Input,
    Name,
    Output,
    Page,
    _json_integer,
    error_responses,
)
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(tags=["sla"], route_class=ApiRoute)

PolicyId = Annotated[int, Path(ge=1, le=MAX_ID, description="An SLA policy's id.")]
# Constraints before the BeforeValidator, or pydantic leaves them out of the JSON schema.
Minutes = Annotated[
    int,
    Field(ge=1, le=MAX_MINUTES, description="Minutes, up to 366 days."),
    BeforeValidator(_json_integer),
]
Percent = Annotated[int, Field(ge=1, le=99), BeforeValidator(_json_integer)]


# Policies ---------------------------------------------------------------------------------------

_AT_LEAST_ONE_TARGET: dict[str, Any] = {
    "anyOf": [{"required": ["first_response_minutes"]}, {"required": ["resolution_minutes"]}]
}


class SlaPolicyCreate(Input):
    """A policy needs at least one target. Left out: any priority, any team, counted in
    business hours, a warning at 80 %."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_AT_LEAST_ONE_TARGET)

    name: Name
    enabled: StrictBool | MISSING = MISSING
    priority: Priority | MISSING = Field(
        default=MISSING, description="Only conversations of this priority; left out: any."
    )
    team_id: Id | MISSING = Field(
        default=MISSING, description="Only conversations of this team; left out: any."
    )
    first_response_minutes: Minutes | MISSING = Field(
        default=MISSING, description="Time to the first agent reply (bot replies do not count)."
    )
    resolution_minutes: Minutes | MISSING = Field(
        default=MISSING, description="Time to resolved, not counting time pending or snoozed."
    )
    business_hours: StrictBool | MISSING = Field(
        default=MISSING,
        description="Count in the workspace's business hours (default) or in calendar time.",
    )
    warn_at_percent: Percent | MISSING = Field(
        default=MISSING, description="When the warning comes, in % of the target (default 80)."
    )


class SlaPolicyUpdate(Input):
    """Fields left out stay. null clears a priority, team or target (a policy keeps at least
    one target: clearing the last one is a 409)."""

    name: Name | MISSING = MISSING
    enabled: StrictBool | MISSING = MISSING
    priority: Priority | MISSING | None = Field(default=MISSING, description="null: any.")
    team_id: Id | MISSING | None = Field(default=MISSING, description="null: any team.")
    first_response_minutes: Minutes | MISSING | None = MISSING
    resolution_minutes: Minutes | MISSING | None = MISSING
    business_hours: StrictBool | MISSING = MISSING
    warn_at_percent: Percent | MISSING = MISSING


class SlaPolicyOrder(Input):
    policy_ids: Annotated[
        list[Id],
        Field(min_length=1, max_length=200, json_schema_extra={"uniqueItems": True}),
    ] = Field(description="These policies first, in this order; the others follow in theirs.")


class SlaPolicyPublic(Output):
    id: int
    name: str
    enabled: bool
    position: int = Field(description="0 is tried first.")
    priority: str | None
    team_id: int | None
    first_response_minutes: int | None
    resolution_minutes: int | None
    business_hours: bool
    warn_at_percent: int
    created_at: datetime
    updated_at: datetime


class SlaPolicyPage(Page[SlaPolicyPublic]):
    pass


def _policy(policy: SlaPolicy) -> SlaPolicyPublic:
    return SlaPolicyPublic.model_validate(policy)


def _values(body: SlaPolicyCreate | SlaPolicyUpdate) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True)


@router.get(
    "/sla-policies",
    summary="List SLA policies",
    description="In the order they are tried.",
    responses=error_responses(401, 422),
)
def list_all(
    client: ApiClientDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> SlaPolicyPage:
    with runtime.db.read() as session:
        policies = list_policies(session, client.workspace_id)
        page, next_cursor = page_by_position(runtime, "sla-policies", policies, limit, cursor)
        return SlaPolicyPage(data=[_policy(p) for p in page], next_cursor=next_cursor)


@router.post(
    "/sla-policies",
    status_code=201,
    summary="Create an SLA policy",
    description="Tried last; move it with POST /sla-policies/reorder. It applies to each "
    "conversation from its next change on (new, priority or team changed, reopened).",
    responses=error_responses(400, 401, 404, 413, 422),
)
def create(body: SlaPolicyCreate, client: ApiClientDep, runtime: RuntimeDep) -> SlaPolicyPublic:
    with runtime.db.write() as session:
        return _policy(do_create_policy(session, client.workspace_id, _values(body)))


@router.post(
    "/sla-policies/reorder",
    summary="Reorder SLA policies",
    description="The policies listed come first, in the order given; the others follow in "
    "their current order. Returns every policy in the new order.",
    responses=error_responses(400, 401, 404, 413, 422),
)
def reorder(body: SlaPolicyOrder, client: ApiClientDep, runtime: RuntimeDep) -> SlaPolicyPage:
    with runtime.db.write() as session:
        policies = do_reorder_policies(session, client.workspace_id, body.policy_ids)
        return SlaPolicyPage(data=[_policy(p) for p in policies], next_cursor=None)


@router.get(
    "/sla-policies/{policy_id:int}",
    summary="Get an SLA policy",
    responses=error_responses(401, 404, 422),
)
def get_policy(policy_id: PolicyId, client: ApiClientDep, runtime: RuntimeDep) -> SlaPolicyPublic:
    with runtime.db.read() as session:
        return _policy(access_policy(session, client.workspace_id, policy_id))


@router.patch(
    "/sla-policies/{policy_id:int}",
    summary="Update an SLA policy",
    description="Fields left out stay. Running clocks keep their target until their "
    "conversation's priority or team changes.",
    responses=error_responses(400, 401, 404, 409, 413, 422),
)
def update(
    policy_id: PolicyId, body: SlaPolicyUpdate, client: ApiClientDep, runtime: RuntimeDep
) -> SlaPolicyPublic:
    with runtime.db.write() as session:
        policy = access_policy(session, client.workspace_id, policy_id)
        return _policy(do_update_policy(session, policy, _values(body)))


@router.delete(
    "/sla-policies/{policy_id:int}",
    status_code=204,
    summary="Delete an SLA policy",
    responses=error_responses(401, 404, 422),
)
def delete(policy_id: PolicyId, client: ApiClientDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        do_delete_policy(session, access_policy(session, client.workspace_id, policy_id))
    return Response(status_code=204)


# Business hours ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


StartTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])]
EndTime = Annotated[
    str,
    Field(
        pattern=r"^(00:(0[1-9]|[1-5][0-9])|(0[1-9]|1[0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        examples=["17:00"],
        description="24:00: until midnight (00:00 is not an end).",
    ),
]
Interval = Annotated[tuple[StartTime, EndTime], Field(description="[start, end), local time.")]
DayHours = Annotated[
    list[Interval],
    Field(
        min_length=1,
        max_length=MAX_INTERVALS_PER_DAY,
        description="Open intervals of the day, in order, not overlapping.",
    ),
]
HolidayDate = Annotated[
    str,
    Field(max_length=10),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-12-25"]}),
]


class WeeklyHours(Input):
    """The open intervals of each weekday; a day left out is closed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    mon: DayHours | MISSING = MISSING
    tue: DayHours | MISSING = MISSING
    wed: DayHours | MISSING = MISSING
    thu: DayHours | MISSING = MISSING
    fri: DayHours | MISSING = MISSING
    sat: DayHours | MISSING = MISSING
    sun: DayHours | MISSING = MISSING


class BusinessHoursIn(Input):
    timezone: Annotated[
        str,
        Field(min_length=1, max_length=64, examples=["Europe/Berlin"]),
        WithJsonSchema(
            {
                "type": "string",
                "description": "An IANA timezone name such as Europe/Berlin.",
                "enum": _zone_names(),
            }
        ),
    ]
    weekly: WeeklyHours
    holidays: Annotated[
        list[HolidayDate],
        Field(max_length=MAX_HOLIDAYS, description="Whole local days closed, YYYY-MM-DD."),
    ] = Field(default_factory=list)


class BusinessHoursPublic(BaseModel):
    configured: bool = Field(description="false: none set, open 24/7 (UTC).")
    timezone: str
    weekly: dict[str, list[list[str]]] = Field(
        description='Each open day: [["09:00", "17:00"], …] in local time.'
    )
    holidays: list[str]
    open_now: bool
    next_opening: datetime = Field(description="Now, if open.")


def _hours_public(workspace: Workspace) -> BusinessHoursPublic:
    hours = load_business_hours(workspace)
    now = utcnow()
    stored = hours.to_settings()
    return BusinessHoursPublic(
        configured=has_business_hours(workspace),
        timezone=stored["timezone"],
        weekly=stored["weekly"],
        holidays=stored["holidays"],
        open_now=hours.is_open(now),
        next_opening=hours.next_opening(now),
    )


def _workspace(session: Session, client: ApiClientDep) -> Workspace:
    workspace = session.get(Workspace, client.workspace_id)
    assert workspace is not None  # the token's workspace: checked by the dependency
    return workspace


@router.get(
    "/business-hours",
    summary="Get the business hours",
    description="The workspace's opening hours, holidays and timezone, which SLA targets "
    "counted in business hours follow, and whether it is open now.",
    responses=error_responses(401),
)
def get_hours(client: ApiClientDep, runtime: RuntimeDep) -> BusinessHoursPublic:
    with runtime.db.read() as session:
        return _hours_public(_workspace(session, client))


@router.put(
    "/business-hours",
    summary="Set the business hours",
    description="Replaces them. Running SLA clocks counted in business hours keep the time "
    "they used and count the rest in the new hours.",
    responses=error_responses(400, 401, 413, 422),
)
def put_hours(body: BusinessHoursIn, client: ApiClientDep, runtime: RuntimeDep) -> Any:
    data = body.model_dump(mode="json")
    with runtime.db.write() as session:
        workspace = _workspace(session, client)
        save_business_hours(session, workspace, data)
        return _hours_public(workspace)


@router.delete(
    "/business-hours",
    status_code=204,
    summary="Remove the business hours",
    description="The workspace is then open 24/7 (UTC) for SLA targets.",
    responses=error_responses(401),
)
def delete_hours(client: ApiClientDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        clear_business_hours(session, _workspace(session, client))
    return Response(status_code=204)


# Clocks -----------------------------------------------------------------------------------------

ClockStatus = Literal["running", "paused", "met", "breached", "cancelled"]
_NO_DUE = 2**62  # sort key of clocks without a deadline: after every real one
_ID_SPAN = 2**53


class SlaClockPublic(BaseModel):
    id: int
    conversation_id: int
    target: str = Field(description="first_response or resolution")
    status: str = Field(description="running, paused, met, breached or cancelled")
    policy_id: int | None
    business_hours: bool
    budget_seconds: int = Field(description="The target, in business (or calendar) seconds.")
    used_seconds: int = Field(description="Used so far, pauses excluded.")
    remaining_seconds: int = Field(description="Left before the breach; negative past it.")
    warn_at_percent: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None


class SlaClockPage(Page[SlaClockPublic]):
    pass


def _running_only() -> list[ClockStatus]:
    return ["running"]


class ClockFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[ClockStatus] = Field(
        default_factory=_running_only, description="Repeat for several; default running."
    )
    conversation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    target: Literal["first_response", "resolution"] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=300)


def _sort_key(clock: SlaClock) -> int:
    due = clock.due_at
    micros = _NO_DUE if due is None else int((due - _EPOCH) / timedelta(microseconds=1))
    return micros * _ID_SPAN + clock.id


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@router.get(
    "/sla-clocks",
    summary="List SLA clocks by time left",
    description="The clocks of the workspace's conversations, the one due first first "
    "(breached ones, then the nearest deadlines; clocks without a deadline last). Running "
    "clocks unless status says otherwise.",
    responses=error_responses(401, 422),
)
def list_clocks(
    filters: Annotated[ClockFilters, Query()], client: ApiClientDep, runtime: RuntimeDep
) -> SlaClockPage:
    after = decode_cursor(runtime, "sla-clocks", filters.cursor)
    query = select(SlaClock).where(
        SlaClock.workspace_id == client.workspace_id, SlaClock.status.in_(filters.status)
    )
    if filters.conversation_id is not None:
        query = query.where(SlaClock.conversation_id == filters.conversation_id)
    if filters.target is not None:
        query = query.where(SlaClock.target == filters.target)
    if after is not None:
        micros, last_id = divmod(after, _ID_SPAN)
        if micros >= _NO_DUE:
            query = query.where(SlaClock.due_at.is_(None), SlaClock.id > last_id)
        else:
            moment = _EPOCH + timedelta(microseconds=micros)
            query = query.where(
                or_(
                    SlaClock.due_at > moment,
                    and_(SlaClock.due_at == moment, SlaClock.id > last_id),
                    SlaClock.due_at.is_(None),
                )
            )
    query = query.order_by(
        case((SlaClock.due_at.is_(None), 1), else_=0), SlaClock.due_at, SlaClock.id
    ).limit(filters.limit + 1)
    now = utcnow()
    with runtime.db.read() as session:
        rows = list(session.scalars(query))
        page, next_cursor = paginate(runtime, "sla-clocks", rows, filters.limit, _sort_key)
        hours = load_business_hours(_workspace(session, client))
        data = [
            SlaClockPublic(
                id=c.id,
                conversation_id=c.conversation_id,
                target=c.target,
                status=c.status,
                policy_id=c.policy_id,
                business_hours=c.business_hours,
                budget_seconds=c.budget_seconds,
                used_seconds=used_seconds(c, hours, now),
                remaining_seconds=remaining_seconds(c, hours, now),
                warn_at_percent=c.warn_percent,
                started_at=c.started_at,
                due_at=c.due_at,
                warn_at=c.warn_at,
                warned_at=c.warned_at,
                breached_at=c.breached_at,
                stopped_at=c.stopped_at,
            )
            for c in page
        ]
    return SlaClockPage(data=data, next_cursor=next_cursor)

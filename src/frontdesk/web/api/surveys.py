"""/api/v1/surveys: CSAT surveys and their answers (F32), for reports.

Each survey says who resolved the conversation (``resolved_by`` bot or agent, with the agent
and the team), so automated and human resolutions can be compared; ``/surveys/summary`` does
that comparison.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, select

from frontdesk.store.models import Survey
from frontdesk.web.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, paginate
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import MAX_ID, Output, Page, Time, error_responses
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/surveys", tags=["surveys"], route_class=ApiRoute)


class SurveyPublic(Output):
    id: int
    conversation_id: int
    customer_id: int
    kind: str = Field(description="csat")
    channel: str = Field(description="Where it was asked: widget or email.")
    resolved_by: str = Field(description="bot or agent")
    agent_id: int | None = Field(description="The agent who resolved it (null for the bot).")
    team_id: int | None
    status: str = Field(description="sent, answered or expired (replaced or too old)")
    rating: int | None = Field(description="1 (very dissatisfied) to 5 (very satisfied).")
    comment: str | None
    sent_at: datetime
    answered_at: datetime | None


class SurveyPage(Page[SurveyPublic]):
    pass


class SurveyFilters(BaseModel):
    """Only these names, only these values."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["answered", "sent", "expired", "any"] = Field(
        default="answered", description="answered (the default), sent, expired or any."
    )
    resolved_by: Literal["bot", "agent"] | None = None
    rating: list[Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=list, description="Repeat for several: rating=1&rating=2."
    )
    channel: Literal["widget", "email"] | None = None
    agent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    conversation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    answered_after: Time | None = Field(default=None, description="With its timezone.")
    answered_before: Time | None = Field(default=None, description="With its timezone.")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        default=None, max_length=300, description="The next_cursor of the previous page."
    )


def _filtered(query: Select[Survey], workspace_id: int, f: SurveyFilters) -> Select[Survey]:
    query = query.where(Survey.workspace_id == workspace_id)
    if f.status != "any":
        query = query.where(Survey.status == f.status)
    if f.resolved_by is not None:
        query = query.where(Survey.resolved_by == f.resolved_by)
    if f.rating:
        query = query.where(Survey.rating.in_(f.rating))
    if f.channel is not None:
        query = query.where(Survey.channel == f.channel)
    if f.agent_id is not None:
        query = query.where(Survey.agent_id == f.agent_id)
    if f.team_id is not None:
        query = query.where(Survey.team_id == f.team_id)
    if f.conversation_id is not None:
        query = query.where(Survey.conversation_id == f.conversation_id)
    if f.answered_after is not None:
        query = query.where(Survey.answered_at > f.answered_after)
    if f.answered_before is not None:
        query = query.where(Survey.answered_at < f.answered_before)
    return query


@router.get(
    "",
    summary="List surveys",
    description="Newest first. By default the answered ones; filter by resolved_by (bot or "
    "agent), rating, channel, agent, team, conversation and answer time.",
    responses=error_responses(401, 422),
)
def list_surveys(
    filters: Annotated[SurveyFilters, Query()], client: ApiClientDep, runtime: RuntimeDep
) -> SurveyPage:
    before = decode_cursor(runtime, "surveys", filters.cursor)
    query = _filtered(select(Survey), client.workspace_id, filters)
    if before is not None:
        query = query.where(Survey.id < before)
    query = query.order_by(Survey.id.desc()).limit(filters.limit + 1)
    with runtime.db.read() as session:
        rows = session.scalars(query).all()
        page, next_cursor = paginate(runtime, "surveys", rows, filters.limit, lambda s: s.id)
        return SurveyPage(
            data=[SurveyPublic.model_validate(s) for s in page], next_cursor=next_cursor
        )


class CsatFigures(BaseModel):
    sent: int = Field(description="Surveys asked (answered, unanswered and expired).")
    answered: int
    response_rate: float | None = Field(description="answered / sent")
    average: float | None = Field(description="Mean rating, 1 to 5.")
    csat: float | None = Field(description="Share of answers rated 4 or 5 (0 to 1).")
    ratings: dict[str, int] = Field(description="Answers per rating, '1' to '5'.")


class CsatSummary(BaseModel):
    bot: CsatFigures = Field(description="Conversations the bot resolved.")
    agent: CsatFigures = Field(description="Conversations a person resolved.")


class SummaryFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sent_after: Time | None = Field(default=None, description="With its timezone.")
    sent_before: Time | None = Field(default=None, description="With its timezone.")
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    channel: Literal["widget", "email"] | None = None


@router.get(
    "/summary",
    summary="CSAT of automated and human resolutions",
    description="For the bot's resolutions and the agents': surveys sent, answered, the mean "
    "rating, the CSAT (share of 4 and 5) and the count of each rating.",
    responses=error_responses(401, 422),
)
def summary(
    filters: Annotated[SummaryFilters, Query()], client: ApiClientDep, runtime: RuntimeDep
) -> CsatSummary:
    query = select(Survey.resolved_by, Survey.status, Survey.rating, func.count(Survey.id)).where(
        Survey.workspace_id == client.workspace_id
    )
    if filters.sent_after is not None:
        query = query.where(Survey.sent_at > filters.sent_after)
    if filters.sent_before is not None:
        query = query.where(Survey.sent_at < filters.sent_before)
    if filters.team_id is not None:
        query = query.where(Survey.team_id == filters.team_id)
    if filters.channel is not None:
        query = query.where(Survey.channel == filters.channel)
    query = query.group_by(Survey.resolved_by, Survey.status, Survey.rating)
    counts: dict[str, dict[str, int]] = {"bot": {}, "agent": {}}
    sent = {"bot": 0, "agent": 0}
    with runtime.db.read() as session:
        for resolved_by, status, rating, count in session.execute(query):
            if resolved_by not in counts:
                continue
            sent[resolved_by] += int(count)
            if status == "answered" and rating is not None:
                key = str(int(rating))
                counts[resolved_by][key] = counts[resolved_by].get(key, 0) + int(count)
    figures = {}
    for who in ("bot", "agent"):
        ratings = {str(r): counts[who].get(str(r), 0) for r in range(1, 6)}
        answered = sum(ratings.values())
        total = sum(int(r) * n for r, n in ratings.items())
        figures[who] = CsatFigures(
            sent=sent[who],
            answered=answered,
            response_rate=round(answered / sent[who], 4) if sent[who] else None,
            average=round(total / answered, 3) if answered else None,
            csat=round((ratings["4"] + ratings["5"]) / answered, 4) if answered else None,
            ratings=ratings,
        )
    return CsatSummary(bot=figures["bot"], agent=figures["agent"])

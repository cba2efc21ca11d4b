"""The rating card of the chat widget: the widget's session token says who the visitor is, and
a visitor only ever sees and answers the surveys of their own conversations (404 otherwise,
whoever owns them). The routes are registered in :mod:`frontdesk.web.widget.router`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from frontdesk.automation.surveys import (
    MAX_COMMENT_CHARS,
    answer_survey,
    comment_survey,
    conversation_surveys,
    widget_payload,
)
from frontdesk.channels.chat import customer_conversation
from frontdesk.runtime import Runtime
from frontdesk.store.models import Survey, utcnow

SurveyId = Annotated[int, Path(ge=1, le=2**53 - 1)]
ConversationId = Annotated[int, Path(ge=1, le=2**53 - 1)]


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Annotated[StrictInt, Field(ge=1, le=5)]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=MAX_COMMENT_CHARS)]


def _payload(runtime: Runtime, survey: Survey) -> dict[str, Any]:
    return {"survey": widget_payload(survey, runtime.settings, utcnow())}


def list_surveys(
    runtime: Runtime, workspace_id: int, customer_id: int, conversation_id: int
) -> dict[str, Any]:
    with runtime.db.read() as session:
        customer_conversation(session, workspace_id, customer_id, conversation_id)
        now = utcnow()
        surveys = conversation_surveys(session, workspace_id, customer_id, conversation_id)
        return {"surveys": [widget_payload(s, runtime.settings, now) for s in surveys]}


def rate(
    runtime: Runtime, workspace_id: int, customer_id: int, survey_id: int, body: RatingIn
) -> dict[str, Any]:
    with runtime.db.write() as session:
        survey = answer_survey(
            session,
            survey_id,
            body.rating,
            via="widget",
            workspace_id=workspace_id,
            customer_id=customer_id,
        )
        return _payload(runtime, survey)


def comment(
    runtime: Runtime, workspace_id: int, customer_id: int, survey_id: int, body: CommentIn
) -> dict[str, Any]:
    with runtime.db.write() as session:
        survey = comment_survey(
            session,
            survey_id,
            body.comment,
            via="widget",
            workspace_id=workspace_id,
            customer_id=customer_id,
        )
        return _payload(runtime, survey)

"""Path parameters shared by the API's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from frontdesk.web.api.schemas import MAX_ID

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID, description="A conversation's id.")]
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="A customer's id.")]
TeamId = Annotated[int, Path(ge=1, le=MAX_ID, description="A team's id.")]
AgentId = Annotated[int, Path(ge=1, le=MAX_ID, description="An agent's id.")]

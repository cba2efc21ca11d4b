"""/api/v1/workspace: the token's workspace and its widget settings."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import MISSING

from frontdesk.accounts.actions import update_workspace
from frontdesk.store.models import Workspace
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import WorkspacePublic, WorkspaceUpdate, error_responses
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/workspace", tags=["workspace"], route_class=ApiRoute)


@router.get("", summary="Get the workspace", responses=error_responses(401))
def get_workspace(client: ApiClientDep, runtime: RuntimeDep) -> WorkspacePublic:
    with runtime.db.read() as session:
        return WorkspacePublic.model_validate(session.get(Workspace, client.workspace_id))


@router.patch(
    "",
    summary="Update the workspace",
    description="Name, the origins allowed to embed the widget, whether visitors must be "
    "identified (user_id + user_hash), the default language, whether the bot answers, and "
    "the quiet time of keyword suggestions after a help-center visit. Fields left out stay as "
    "they are.",
    responses=error_responses(400, 401, 413, 422),
)
def update(body: WorkspaceUpdate, client: ApiClientDep, runtime: RuntimeDep) -> WorkspacePublic:
    with runtime.db.write() as session:
        workspace = session.get(Workspace, client.workspace_id)
        assert workspace is not None  # the token's workspace: checked by the dependency
        update_workspace(
            session,
            workspace,
            name=body.name if body.name is not MISSING else None,
            allowed_origins=body.allowed_origins if body.allowed_origins is not MISSING else None,
            require_identity=body.require_identity
            if body.require_identity is not MISSING
            else None,
            default_language=body.default_language
            if body.default_language is not MISSING
            else None,
            bot_enabled=body.bot_enabled if body.bot_enabled is not MISSING else None,
            keyword_suggestions_quiet_minutes=body.keyword_suggestions_quiet_minutes
            if body.keyword_suggestions_quiet_minutes is not MISSING
            else None,
        )
        return WorkspacePublic.model_validate(workspace)

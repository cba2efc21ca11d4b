"""/api/v1/policy: the workspace's never-automate policy (guardrails that run before the bot)."""

from __future__ import annotations

from fastapi import APIRouter

from frontdesk.guardrails.policy import Policy, load_policy, save_policy
from frontdesk.store.models import Workspace
from frontdesk.web.api.routing import ApiRoute
from frontdesk.web.api.schemas import error_responses
from frontdesk.web.deps import ApiClientDep, RuntimeDep

router = APIRouter(prefix="/policy", tags=["policy"], route_class=ApiRoute)


@router.get(
    "",
    summary="Get the never-automate policy",
    description="The rules under which the bot stays silent and a person takes over at once "
    "(the defaults until one is saved).",
    responses=error_responses(401),
)
def get_policy(client: ApiClientDep, runtime: RuntimeDep) -> Policy:
    with runtime.db.read() as session:
        workspace = session.get(Workspace, client.workspace_id)
        assert workspace is not None  # the token's workspace: checked by the dependency
        return load_policy(workspace)


@router.put(
    "",
    summary="Replace the never-automate policy",
    description="The whole policy: rules left out get their defaults. Team slugs that do not "
    "exist in the workspace are accepted (the team is then left to routing).",
    responses=error_responses(400, 401, 413, 422),
)
def put_policy(body: Policy, client: ApiClientDep, runtime: RuntimeDep) -> Policy:
    with runtime.db.write() as session:
        workspace = session.get(Workspace, client.workspace_id)
        assert workspace is not None
        return save_policy(session, workspace, body)

"""The nightly retraining of each workspace's learned router (F16)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.jobs.registry import periodic
from frontdesk.routing.learned import DONE_STATUSES, retrain
from frontdesk.runtime import current
from frontdesk.store.models import Conversation, RouterModel, Workspace

log = logging.getLogger(__name__)


def workspaces_to_retrain(session: Session) -> list[int]:
    """Workspaces with a conversation resolved or closed since their router was last trained
    (or never trained and with resolved conversations)."""
    last_trained = (
        select(RouterModel.workspace_id, func.max(RouterModel.trained_at).label("at"))
        .where(RouterModel.kind == "team")
        .group_by(RouterModel.workspace_id)
        .subquery()
    )
    latest_done = (
        select(Conversation.workspace_id, func.max(Conversation.updated_at).label("at"))
        .where(Conversation.status.in_(DONE_STATUSES))
        .group_by(Conversation.workspace_id)
        .subquery()
    )
    rows = session.execute(
        select(Workspace.id)
        .join(latest_done, latest_done.c.workspace_id == Workspace.id)
        .outerjoin(last_trained, last_trained.c.workspace_id == Workspace.id)
        .where((last_trained.c.at.is_(None)) | (latest_done.c.at > last_trained.c.at))
        .order_by(Workspace.id)
    )
    return [workspace_id for (workspace_id,) in rows]


@periodic("retrain_routers", minute="17", hour="3")
def retrain_routers() -> None:
    """Every night at 03:17: retrain the router of each workspace with new resolved
    conversations (one workspace per transaction; one failing does not stop the others)."""
    runtime = current()
    with runtime.db.read() as session:
        workspace_ids = workspaces_to_retrain(session)
    for workspace_id in workspace_ids:
        try:
            report = retrain(runtime.db, workspace_id)
        except Exception:
            log.exception("retraining the router of workspace %s failed", workspace_id)
            continue
        if report.ok:
            log.info(
                "router of workspace %s retrained on %d conversations (team accuracy %.3f)",
                workspace_id,
                report.conversations,
                report.trained["team"]["accuracy"],
            )
        else:
            log.info("router of workspace %s not retrained: %s", workspace_id, report.message)

"""Live updates to browsers (widget and agent inbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from frontdesk.store.database import after_commit


def publish_after_commit(session: Session, channel: str, message: dict[str, Any]) -> None:
    """Publish ``message`` on ``channel`` once ``session`` commits."""
    runtime = session.info.get("runtime")
    if runtime is None:  # a session outside a running app (scripts, some tests): nobody listens
        return
    after_commit(session, lambda: runtime.bus.publish(channel, message))


def conversation_channel(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def workspace_channel(workspace_id: int) -> str:
    return f"workspace:{workspace_id}"

"""``WS /inbox/ws``: every live message of the agent's workspace, forwarded unchanged.

Authenticated by the session cookie; a browser page of another origin is refused (close code
4403), so no other site can open it with the agent's cookie. The first frame is
``{"type": "hello"}``; after it, each bus message of ``workspace:{id}`` is one JSON text frame.
The database stays the source of truth: after a reconnect the page refetches what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from frontdesk.accounts.actions import session_agent
from frontdesk.live import workspace_channel
from frontdesk.live.bus import Subscription
from frontdesk.runtime import Runtime
from frontdesk.web.deps import SESSION_COOKIE, get_runtime

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_RESYNC = 4409  # fell behind: reconnect and refetch
RECHECK_SECONDS = 60.0


def _own_origins(websocket: WebSocket, runtime: Runtime) -> set[str]:
    origins = set()
    host = websocket.headers.get("host", "")
    if host:
        origins.update({f"http://{host}", f"https://{host}"})
    if runtime.settings.base_url:
        parts = urlsplit(runtime.settings.base_url)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def origin_allowed(websocket: WebSocket, runtime: Runtime) -> bool:
    """Browsers always send Origin: it must be ours. Non-browser clients send none."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return origin.rstrip("/").lower() in {o.lower() for o in _own_origins(websocket, runtime)}


def _workspace_of(runtime: Runtime, token: str | None) -> int | None:
    with runtime.db.read() as session:
        found = session_agent(session, token)
        return found[1].workspace_id if found else None


async def _forward(websocket: WebSocket, sub: Subscription, runtime: Runtime, token: str) -> None:
    while True:
        try:
            _, message = await asyncio.wait_for(sub.get(), timeout=RECHECK_SECONDS)
        except TimeoutError:
            # A logged-out or deactivated agent stops receiving within a minute.
            if await run_in_threadpool(_workspace_of, runtime, token) is None:
                await websocket.close(CLOSE_UNAUTHORIZED, "session ended")
                return
            continue
        if sub.overflowed:
            await websocket.close(CLOSE_RESYNC, "fell behind; reconnect")
            return
        await websocket.send_text(json.dumps(message))


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the page sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


@router.websocket("/inbox/ws")
async def inbox_socket(websocket: WebSocket) -> None:
    runtime = get_runtime(websocket)
    await websocket.accept()
    if not origin_allowed(websocket, runtime):
        await websocket.close(CLOSE_FORBIDDEN, "origin not allowed")
        return
    token = websocket.cookies.get(SESSION_COOKIE, "")
    workspace_id = await run_in_threadpool(_workspace_of, runtime, token)
    if workspace_id is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "log in first")
        return
    async with runtime.bus.subscribe(workspace_channel(workspace_id)) as sub:
        await websocket.send_text(json.dumps({"type": "hello"}))
        forward = asyncio.create_task(_forward(websocket, sub, runtime, token))
        drain = asyncio.create_task(_drain(websocket))
        try:
            await asyncio.wait({forward, drain}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (forward, drain):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

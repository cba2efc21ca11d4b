"""Which web pages may use a workspace's widget: its allowed origins, plus this server's own.

Every ``/widget/v1/{slug}/…`` route uses :class:`WidgetRoute`. Before the handler runs it
loads the workspace (404 when unknown) and checks the ``Origin`` header (403 when not
allowed); afterwards, errors included, it adds the CORS headers so the page can read the
answer. No cookies are involved: the widget authenticates with its session token in a header,
so credentials are never allowed.

A request without ``Origin`` (a server, a script, a same-origin GET) is not a browser page
acting cross-origin and passes: the session token, not the origin, is what authenticates.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from frontdesk.config import Settings
from frontdesk.errors import Forbidden
from frontdesk.web.deps import get_runtime
from frontdesk.web.widget.sessions import WidgetWorkspace, load_workspace

PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}".lower()


def own_origins(conn: HTTPConnection, settings: Settings) -> set[str]:
    """This server's origin as the browser sees it (and as configured in base_url)."""
    found = {o for o in (_origin(str(conn.url)), _origin(settings.base_url)) if o}
    return found


def origin_allowed(origin: str | None, allowed: Iterable[str], own: set[str]) -> bool:
    if origin is None:
        return True
    clean = origin.strip().rstrip("/").lower()
    allowed_set = {a.rstrip("/").lower() for a in allowed}
    return clean in own or "*" in allowed_set or clean in allowed_set


def check_origin(conn: HTTPConnection, workspace: WidgetWorkspace) -> str | None:
    """The origin to answer with CORS headers (None: not a cross-origin request); raises
    Forbidden when the page's origin may not use this workspace's widget."""
    origin = conn.headers.get("origin")
    settings = get_runtime(conn).settings
    if not origin_allowed(origin, workspace.allowed_origins, own_origins(conn, settings)):
        raise Forbidden(
            f"Pages from {origin} may not use this chat: an admin adds the origin to the "
            "workspace's allowed widget origins."
        )
    return origin


async def _handle(request: Request, exc: Exception) -> Response:
    """Answer ``exc`` with the app's own exception handler (the one JSON error shape)."""
    handlers: dict[Any, Any] = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response: Response = await handler(request, exc)
            return response
    raise exc


class WidgetRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            cors_origin: str | None = None
            try:
                slug = request.path_params.get("slug")
                if slug is not None:
                    runtime = get_runtime(request)
                    workspace = await run_in_threadpool(load_workspace, runtime.db, slug)
                    request.state.widget_workspace = workspace
                    cors_origin = check_origin(request, workspace)
                response = await handler(request)
            except Exception as exc:
                response = await _handle(request, exc)
            response.headers["Vary"] = "Origin"
            if cors_origin is not None:
                response.headers["Access-Control-Allow-Origin"] = cors_origin
                response.headers["Access-Control-Expose-Headers"] = "Retry-After"
            return response

        return guarded

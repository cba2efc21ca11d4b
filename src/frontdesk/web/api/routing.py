"""The route class of the API: a method the path does not support is a 405 whose ``Allow``
header lists every method of that path (Starlette names only the first matching route's)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send


class ApiRoute(APIRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path_methods: set[str] = set(self.methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = ", ".join(sorted(self.path_methods))
            raise HTTPException(
                status_code=405,
                detail=f"{scope['method']} is not supported here; use {allowed}.",
                headers={"Allow": allowed},
            )
        await super().handle(scope, receive, send)


def advertise_methods(router: APIRouter) -> None:
    """Tell each route of ``router`` every method its path supports."""
    by_path: dict[str, set[str]] = defaultdict(set)
    routes = [r for r in router.routes if isinstance(r, ApiRoute)]
    for route in routes:
        by_path[route.path_format] |= route.methods or set()
    for route in routes:
        route.path_methods = by_path[route.path_format]

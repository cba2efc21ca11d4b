"""The REST API v1, under /api/v1: every route needs a workspace API token (bearer) and sees
only that workspace. Errors have the one shape of :mod:`frontdesk.web.app`."""

from __future__ import annotations

from fastapi import APIRouter

from frontdesk.web.api import (
    agents,
    articles,
    conversations,
    customers,
    email,
    events,
    macros,
    messages,
    policy,
    rules,
    sla,
    surveys,
    teams,
    workspace,
)
from frontdesk.web.api.routing import advertise_methods

router = APIRouter(prefix="/api/v1")
for module in (
    conversations,
    messages,
    customers,
    teams,
    agents,
    events,
    workspace,
    articles,
    rules,
    policy,
    macros,
    surveys,
    sla,
    email,
):
    advertise_methods(module.router)
    router.include_router(module.router)

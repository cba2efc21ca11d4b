"""The agent web app's routes: login and account, inbox, live socket, admin pages."""

from __future__ import annotations

from fastapi import APIRouter

from frontdesk.web.agent import (
    admin,
    attachments,
    auth,
    email_admin,
    knowledge,
    live,
    macros,
    policy,
    routing,
    sla_admin,
    views,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(views.router)
router.include_router(live.router)
router.include_router(admin.router)
router.include_router(email_admin.router)
router.include_router(knowledge.router)
router.include_router(routing.router)
router.include_router(policy.router)
router.include_router(macros.router)
router.include_router(attachments.router)
router.include_router(sla_admin.router)

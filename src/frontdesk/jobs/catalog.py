"""The modules that define jobs; importing this registers all of them."""

from __future__ import annotations

import importlib

JOB_MODULES = (
    "frontdesk.webhooks.delivery",
    "frontdesk.conversations.jobs",
    "frontdesk.routing.jobs",
    "frontdesk.channels.email.outbound",
    "frontdesk.automation.sla",
    "frontdesk.channels.email.ingest",
    "frontdesk.channels.email.imap",
)


def load_all() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)

"""Periodic jobs of conversations."""

from __future__ import annotations

import logging

from frontdesk.conversations.actions import wake_snoozed
from frontdesk.jobs.registry import periodic
from frontdesk.runtime import current
from frontdesk.store.models import utcnow

log = logging.getLogger(__name__)


@periodic("wake_snoozed", minute="*")
def wake_snoozed_conversations() -> None:
    """Reopen conversations whose snooze has run out (once a minute, in one worker)."""
    with current().db.write() as session:
        woken = wake_snoozed(session, utcnow())
    if woken:
        log.info("reopened %d snoozed conversations", len(woken))

"""SLA policies and clocks (F31): first-response and resolution targets, business hours,
pauses while the customer has the ball, warnings before a breach and breaches.

Policies
    :class:`SlaPolicy` rows, tried by ``position``: the first enabled one whose priority and
    team match the conversation (None: any) applies. Each has a first-response and/or a
    resolution target in minutes, counted in business hours (the workspace's, see
    :mod:`frontdesk.domain.business_hours`) or in calendar time, and ``warn_at_percent``.
    The functions ``do_*_policy`` below are the only code that changes them.

Clocks
    One :class:`SlaClock` per conversation and target, kept by the event listener
    :func:`on_sla_event` in the transaction of the event, so every path (inbox, API, bot,
    widget, email, jobs) is covered:

    * ``conversation_created``, ``priority_changed``, a team change, a reopen, and for a chat
      the bot is handling its coming to a person (``handed_off``, ``triaged``, ``assigned``):
      the policy is (re-)evaluated, for a conversation that wants a person
      (:func:`frontdesk.conversations.attention.wants_person`: not a chat the bot is still
      handling, whose clocks start at the handoff); a clock starts when a policy first applies, and a running clock is
      re-targeted (the time used so far is kept) or cancelled when no policy applies any more;
    * ``agent_replied`` meets the first-response target (bot messages do not count);
    * ``status_changed``: pending or snoozed pause the clocks (``used_seconds`` keeps what was
      used; ``due_at``/``warn_at`` are recomputed on resume); resolved or closed meet the
      resolution target (and pause an unanswered first response); a customer's reply to a
      resolved conversation reopens it, and the resolution clock runs on from where it was.

    ``conversation.sla_due_at`` is the earliest ``due_at`` of its running clocks (None when
    none runs): the inbox sorts by it.

Warnings and breaches
    ``sla_warning`` (at ``warn_at_percent`` of the target) and ``sla_breached`` events, each
    appended once per clock: the clock's ``warned_at``/``breached_at`` is set by a conditional
    UPDATE (``… WHERE warned_at IS NULL``), so two workers sweeping at once fire it once. The
    timers are the rows themselves: the job ``sla_timer`` is enqueued for the moment
    (``delay``) and the periodic ``sla_sweep`` (every minute) fires whatever is due, so a
    restart, a lost job or a queue outage only delays an alert by a minute. Each alert is
    published on the workspace channel (``{"type": "sla.alert", ...}``; the inbox shows it to
    the team's members) and, being an event, reaches webhooks.

A breached clock keeps running (the inbox shows "breached 15m ago") until its target is met;
it then ends ``breached`` instead of ``met``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from frontdesk.conversations.attention import wants_person
from frontdesk.conversations.events import SYSTEM, append_event, on_event
from frontdesk.domain.business_hours import BusinessHours
from frontdesk.domain.conversation import PRIORITIES
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.jobs.registry import job, periodic
from frontdesk.live import publish_after_commit, workspace_channel
from frontdesk.store.models import (
    Conversation,
    ConversationEvent,
    Message,
    SlaClock,
    SlaPolicy,
    Team,
    Workspace,
    utcnow,
)
from frontdesk.store.ordering import lock_workspace, moved, renumber, reorder

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

__all__ = [
    "CALENDAR",
    "TARGETS",
    "SlaBadge",
    "access_policy",
    "badge_for",
    "clear_business_hours",
    "do_create_policy",
    "do_delete_policy",
    "do_move_policy",
    "do_reorder_policies",
    "do_update_policy",
    "fire_due",
    "list_policies",
    "load_business_hours",
    "match_policy",
    "on_sla_event",
    "save_business_hours",
    "sla_badges",
    "span_text",
    "sweep",
    "validate_policy",
]

log = logging.getLogger(__name__)

FIRST_RESPONSE: Final = "first_response"
RESOLUTION: Final = "resolution"
TARGETS: Final = (FIRST_RESPONSE, RESOLUTION)
TARGET_LABELS: Final = {FIRST_RESPONSE: "First response", RESOLUTION: "Resolution"}

RUNNING, PAUSED, MET, BREACHED, CANCELLED = "running", "paused", "met", "breached", "cancelled"
_STOPPED = "stopped"  # a wish of _desired(): met or breached, whichever the clock earned

CALENDAR: Final = BusinessHours.always_open()
MAX_MINUTES: Final = 366 * 24 * 60
MAX_POLICIES: Final = 200
SWEEP_BATCH: Final = 500
DEFAULT_WARN_PERCENT: Final = 80

_ACTIVE = "open"
_WAITING = frozenset({"pending", "snoozed"})
_DONE = frozenset({"resolved", "closed"})
_TEAM_EVENTS = frozenset({"team_changed", "reassigned"})
# A chat the bot is handling gets its clocks when it comes to a person: handed off, sent to
# triage, given a team or an agent (conversations.attention.wants_person).
_TO_A_PERSON = frozenset({"handed_off", "triaged", "assigned"})
_HANDLED = frozenset(
    {"conversation_created", "agent_replied", "status_changed", "priority_changed"}
    | _TEAM_EVENTS
    | _TO_A_PERSON
)
POLICY_FIELDS: Final = (
    "name",
    "enabled",
    "priority",
    "team_id",
    "first_response_minutes",
    "resolution_minutes",
    "business_hours",
    "warn_at_percent",
)


# Policies ---------------------------------------------------------------------------------------


def list_policies(session: Session, workspace_id: int) -> list[SlaPolicy]:
    return list(
        session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.workspace_id == workspace_id)
            .order_by(SlaPolicy.position, SlaPolicy.id)
        )
    )


def access_policy(session: Session, workspace_id: int, policy_id: int) -> SlaPolicy:
    """The policy, or NotFound if it does not exist or belongs to another workspace."""
    policy = session.get(SlaPolicy, policy_id)
    if policy is None or policy.workspace_id != workspace_id:
        raise NotFound(f"SLA policy {policy_id} was not found.")
    return policy


def definition(policy: SlaPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


def _minutes(values: Mapping[str, Any], name: str, problems: list[dict[str, str]]) -> int | None:
    raw = values.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        problems.append({"field": name, "message": "must be a whole number of minutes"})
        return None
    if not 1 <= raw <= MAX_MINUTES:
        problems.append(
            {"field": name, "message": f"must be from 1 to {MAX_MINUTES} minutes (366 days)"}
        )
        return None
    return raw


def validate_policy(values: Mapping[str, Any]) -> dict[str, Any]:
    """A complete policy definition, cleaned; InvalidInput lists every problem."""
    problems: list[dict[str, str]] = []
    unknown = sorted(str(k) for k in values if k not in POLICY_FIELDS)
    for key in unknown:
        problems.append({"field": key[:40], "message": "unknown field"})
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append({"field": "name", "message": "give the policy a name"})
    elif len(name.strip()) > 200:
        problems.append({"field": "name", "message": "at most 200 characters"})
    enabled = values.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append({"field": "enabled", "message": "must be true or false"})
    priority = values.get("priority")
    if priority is not None and priority not in PRIORITIES:
        problems.append(
            {"field": "priority", "message": f"use one of {', '.join(PRIORITIES)}, or none (any)"}
        )
    team_id = values.get("team_id")
    if team_id is not None and (isinstance(team_id, bool) or not isinstance(team_id, int)):
        problems.append({"field": "team_id", "message": "must be a team's id, or none (any)"})
    first = _minutes(values, "first_response_minutes", problems)
    resolution = _minutes(values, "resolution_minutes", problems)
    if (
        first is None
        and resolution is None
        and not any(p["field"].endswith("_minutes") for p in problems)
    ):
        problems.append(
            {
                "field": "first_response_minutes",
                "message": "give a first-response target, a resolution target, or both",
            }
        )
    business_hours = values.get("business_hours", True)
    if not isinstance(business_hours, bool):
        problems.append({"field": "business_hours", "message": "must be true or false"})
    warn = values.get("warn_at_percent", DEFAULT_WARN_PERCENT)
    if isinstance(warn, bool) or not isinstance(warn, int) or not 1 <= warn <= 99:
        problems.append(
            {"field": "warn_at_percent", "message": "must be a whole number from 1 to 99"}
        )
    if problems:
        first_problem = problems[0]
        raise InvalidInput(
            f"SLA policy: {first_problem['field']}: {first_problem['message']}.", details=problems
        )
    return {
        "name": str(name).strip(),
        "enabled": enabled,
        "priority": priority,
        "team_id": team_id,
        "first_response_minutes": first,
        "resolution_minutes": resolution,
        "business_hours": business_hours,
        "warn_at_percent": warn,
    }


def _check_team(session: Session, workspace_id: int, team_id: int | None) -> None:
    if team_id is None:
        return
    team = session.get(Team, team_id)
    if team is None or team.workspace_id != workspace_id:
        raise NotFound(f"Team {team_id} was not found.")


def do_create_policy(
    session: Session, workspace_id: int, values: Mapping[str, Any], *, position: int | None = None
) -> SlaPolicy:
    """A new policy, tried last unless ``position`` (0 = first) says otherwise. It applies to
    conversations from their next change on (creation, priority, team, reopening)."""
    clean = validate_policy(values)
    _check_team(session, workspace_id, clean["team_id"])
    lock_workspace(session, workspace_id)
    policies = list_policies(session, workspace_id)
    if len(policies) >= MAX_POLICIES:
        raise InvalidInput(f"A workspace has at most {MAX_POLICIES} SLA policies.")
    now = utcnow()
    policy = SlaPolicy(
        workspace_id=workspace_id, position=len(policies), created_at=now, updated_at=now, **clean
    )
    session.add(policy)
    session.flush()
    if position is not None and 0 <= position < len(policies):
        policies.insert(position, policy)
        renumber(policies)
        session.flush()
    return policy


def do_update_policy(session: Session, policy: SlaPolicy, changes: Mapping[str, Any]) -> SlaPolicy:
    """Change some fields; the rest stays. Clocks already running keep the target they
    started with until their conversation's priority or team changes."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown SLA policy field {sorted(unknown)[0]!r}.")
    merged = {**definition(policy), **changes}
    if merged["first_response_minutes"] is None and merged["resolution_minutes"] is None:
        # Each field alone is fine; together with what is stored nothing would be left.
        raise Conflict(
            "An SLA policy needs a first-response or a resolution target: keep one, or "
            "delete the policy."
        )
    clean = validate_policy(merged)
    if "team_id" in changes:
        _check_team(session, policy.workspace_id, clean["team_id"])
    for key, value in clean.items():
        setattr(policy, key, value)
    policy.updated_at = utcnow()
    session.flush()
    return policy


def do_reorder_policies(
    session: Session, workspace_id: int, policy_ids: Sequence[int]
) -> list[SlaPolicy]:
    """Put ``policy_ids`` first, in this order; the others follow in their current order."""
    lock_workspace(session, workspace_id)
    policies = list_policies(session, workspace_id)
    ordered = reorder(policies, policy_ids, field="policy_ids", noun="SLA policy")
    session.flush()
    return ordered


def do_move_policy(session: Session, policy: SlaPolicy, offset: int) -> list[SlaPolicy]:
    ids = [p.id for p in list_policies(session, policy.workspace_id)]
    return do_reorder_policies(session, policy.workspace_id, moved(ids, policy.id, offset))


def do_delete_policy(session: Session, policy: SlaPolicy) -> None:
    """Delete a policy. Its running clocks keep their targets (their ``policy_id`` becomes
    None) until their conversation changes and the remaining policies are evaluated."""
    workspace_id = policy.workspace_id
    lock_workspace(session, workspace_id)
    session.delete(policy)
    session.flush()
    renumber(list_policies(session, workspace_id))
    session.flush()


def match_policy(
    policies: Iterable[SlaPolicy], priority: str, team_id: int | None
) -> SlaPolicy | None:
    """The first enabled policy (in the given order) for this priority and team."""
    for policy in policies:
        if not policy.enabled:
            continue
        if policy.priority is not None and policy.priority != priority:
            continue
        if policy.team_id is not None and policy.team_id != team_id:
            continue
        return policy
    return None


# Business hours of a workspace ------------------------------------------------------------------


def load_business_hours(workspace: Workspace | None) -> BusinessHours:
    return BusinessHours.from_settings(workspace.settings if workspace is not None else None)


def has_business_hours(workspace: Workspace) -> bool:
    return (workspace.settings or {}).get("business_hours") is not None


def save_business_hours(
    session: Session, workspace: Workspace, data: Any, *, now: datetime | None = None
) -> BusinessHours:
    """Validate and store the workspace's business hours (InvalidInput if bad). Running
    business-hours clocks are re-planned: the time they used so far stays, and what remains
    is counted in the new hours from ``now``."""
    hours = data if isinstance(data, BusinessHours) else BusinessHours.parse(data)
    return _replace_hours(session, workspace, hours, hours.to_settings(), now or utcnow())


def clear_business_hours(
    session: Session, workspace: Workspace, *, now: datetime | None = None
) -> BusinessHours:
    """Forget the business hours: the workspace is open 24/7 (UTC)."""
    return _replace_hours(session, workspace, CALENDAR, None, now or utcnow())


def _replace_hours(
    session: Session,
    workspace: Workspace,
    hours: BusinessHours,
    stored: dict[str, Any] | None,
    now: datetime,
) -> BusinessHours:
    before = load_business_hours(workspace)
    settings = dict(workspace.settings or {})
    if stored is None:
        settings.pop("business_hours", None)
    else:
        settings["business_hours"] = stored
    workspace.settings = settings
    session.flush()
    clocks = session.scalars(
        select(SlaClock).where(
            SlaClock.workspace_id == workspace.id,
            SlaClock.status == RUNNING,
            SlaClock.business_hours.is_(True),
        )
    ).all()
    changed: list[SlaClock] = []
    for clock in clocks:
        clock.used_seconds += _elapsed(clock, before, now)
        clock.resumed_at = now
        _plan(clock, hours, now)
        changed.append(clock)
    session.flush()
    for conversation_id in sorted({c.conversation_id for c in clocks}):
        conversation = session.get(Conversation, conversation_id)
        if conversation is not None:
            own = [c for c in clocks if c.conversation_id == conversation_id]
            for clock in own:
                _fire_due(session, conversation, clock, now)
            _set_due(session, conversation)
    _schedule_timers(session, changed, now)
    return hours


# Clock arithmetic -------------------------------------------------------------------------------


def _hours_for(clock: SlaClock, workspace_hours: BusinessHours) -> BusinessHours:
    return workspace_hours if clock.business_hours else CALENDAR


def _elapsed(clock: SlaClock, hours: BusinessHours, now: datetime) -> int:
    """Business (or calendar) seconds used since the clock last resumed."""
    if clock.status != RUNNING or clock.resumed_at is None:
        return 0
    return hours.business_seconds_between(clock.resumed_at, now)


def warn_seconds(clock: SlaClock) -> int:
    """How far into the budget the warning comes (rounded up to the second)."""
    return -(-clock.budget_seconds * clock.warn_percent // 100)


def used_seconds(clock: SlaClock, workspace_hours: BusinessHours, now: datetime) -> int:
    return clock.used_seconds + _elapsed(clock, _hours_for(clock, workspace_hours), now)


def _plan(clock: SlaClock, hours: BusinessHours, now: datetime) -> None:
    """``due_at`` and ``warn_at`` of a clock (re)starting at ``now`` with what it has used."""
    remaining = max(clock.budget_seconds - clock.used_seconds, 0)
    clock.due_at = hours.add_business_seconds(now, remaining)
    clock.warn_at = hours.add_business_seconds(
        now, max(warn_seconds(clock) - clock.used_seconds, 0)
    )


def _is_final(clock: SlaClock) -> bool:
    """A first response, once given, is given; a resolution can be reopened."""
    return clock.target == FIRST_RESPONSE and clock.status in (MET, BREACHED)


def _desired(conversation_status: str, clock: SlaClock) -> str:
    if clock.status == CANCELLED or _is_final(clock):
        return clock.status
    if conversation_status == _ACTIVE:
        return RUNNING
    if conversation_status in _DONE:
        return PAUSED if clock.target == FIRST_RESPONSE else _STOPPED
    return PAUSED


def _move(
    session: Session,
    conversation: Conversation,
    clock: SlaClock,
    desired: str,
    hours: BusinessHours,
    now: datetime,
    changed: list[SlaClock],
) -> None:
    current = clock.status
    if desired == current or (desired == _STOPPED and current in (MET, BREACHED)):
        return
    if current == RUNNING:
        clock.used_seconds += _elapsed(clock, hours, now)
        clock.resumed_at = None
    if desired == RUNNING:
        clock.status = RUNNING
        clock.resumed_at = now
        clock.stopped_at = None
        _plan(clock, hours, now)
        changed.append(clock)
    elif desired == PAUSED:
        clock.status = PAUSED
        clock.stopped_at = None
    elif desired == _STOPPED:
        _finish(session, conversation, clock, now)


def _finish(session: Session, conversation: Conversation, clock: SlaClock, now: datetime) -> None:
    """The target is reached: met in time, or breached (the breach event first, if the
    sweep has not appended it yet)."""
    clock.resumed_at = None
    if clock.breached_at is None and clock.used_seconds >= clock.budget_seconds:
        if _claim(session, clock, "breached_at", now, require_due=False):
            _alert(session, conversation, clock, "breached", now)
    clock.status = BREACHED if clock.breached_at is not None else MET
    clock.stopped_at = now


def _claim(
    session: Session, clock: SlaClock, column: str, now: datetime, *, require_due: bool
) -> bool:
    """Set ``warned_at``/``breached_at`` if nobody has: a conditional UPDATE, so concurrent
    workers (or a sweep racing the listener) append each alert once."""
    session.flush()
    target = SlaClock.warned_at if column == "warned_at" else SlaClock.breached_at
    conditions: list[ColumnElement[bool]] = [SlaClock.id == clock.id, target.is_(None)]
    if require_due:
        at = SlaClock.warn_at if column == "warned_at" else SlaClock.due_at
        conditions += [SlaClock.status == RUNNING, at.is_not(None), at <= now]
    result = session.execute(
        update(SlaClock)
        .where(*conditions)
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 1:
        set_committed_value(clock, column, now)
        return True
    session.refresh(clock, [column])
    return False


def _alert(
    session: Session, conversation: Conversation, clock: SlaClock, kind: str, now: datetime
) -> None:
    policy = session.get(SlaPolicy, clock.policy_id) if clock.policy_id is not None else None
    percent = 100 if kind == "breached" else clock.warn_percent
    data = {
        "clock_id": clock.id,
        "target": clock.target,
        "policy_id": clock.policy_id,
        "policy": policy.name if policy is not None else None,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
        "percent": percent,
        "budget_seconds": clock.budget_seconds,
        "business_hours": clock.business_hours,
        "team_id": conversation.team_id,
        "assignee_id": conversation.assignee_id,
    }
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="sla_warning" if kind == "warning" else "sla_breached",
        actor=SYSTEM,
        data=data,
    )
    publish_after_commit(
        session,
        workspace_channel(conversation.workspace_id),
        {
            "type": "sla.alert",
            "kind": kind,
            "conversation_id": conversation.id,
            "team_id": conversation.team_id,
            "assignee_id": conversation.assignee_id,
            "target": clock.target,
            "target_label": TARGET_LABELS.get(clock.target, clock.target),
            "policy": data["policy"],
            "due_at": data["due_at"],
            "percent": percent,
            "at": now.isoformat(),
        },
    )


def _fire_due(
    session: Session, conversation: Conversation, clock: SlaClock, now: datetime
) -> list[str]:
    """Append the warning and/or breach that are due for a running clock; what was fired."""
    fired: list[str] = []
    if clock.status != RUNNING:
        return fired
    if (
        clock.warned_at is None
        and clock.warn_at is not None
        and clock.warn_at <= now
        and _claim(session, clock, "warned_at", now, require_due=True)
    ):
        _alert(session, conversation, clock, "warning", now)
        fired.append("warning")
    if (
        clock.breached_at is None
        and clock.due_at is not None
        and clock.due_at <= now
        and _claim(session, clock, "breached_at", now, require_due=True)
    ):
        _alert(session, conversation, clock, "breached", now)
        fired.append("breached")
    return fired


def _set_due(session: Session, conversation: Conversation) -> None:
    session.flush()
    earliest = session.scalars(
        select(SlaClock.due_at)
        .where(
            SlaClock.conversation_id == conversation.id,
            SlaClock.status == RUNNING,
            SlaClock.due_at.is_not(None),
        )
        .order_by(SlaClock.due_at)
        .limit(1)
    ).first()
    if conversation.sla_due_at != earliest:
        conversation.sla_due_at = earliest


def _schedule_timers(session: Session, clocks: Iterable[SlaClock], now: datetime) -> None:
    """Enqueue ``sla_timer`` for each future warning and breach, after the commit. Only a
    shortcut: the periodic sweep finds any due clock anyway."""
    runtime = session.info.get("runtime")
    if runtime is None:
        return
    seen: set[tuple[int, datetime]] = set()
    for clock in clocks:
        if clock.status != RUNNING:
            continue
        for moment, done in ((clock.warn_at, clock.warned_at), (clock.due_at, clock.breached_at)):
            if moment is None or done is not None or (clock.id, moment) in seen:
                continue
            seen.add((clock.id, moment))
            delay = (moment - now).total_seconds()
            if delay > 0:
                # A second late rather than early: an early timer finds nothing due.
                runtime.jobs.enqueue_after_commit(session, "sla_timer", clock.id, delay=delay + 1)


# The listener -----------------------------------------------------------------------------------


def _has_agent_reply(session: Session, conversation: Conversation) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Message.conversation_id == conversation.id,
                    Message.author_type == "agent",
                    Message.kind == "message",
                )
            )
        )
    )


def policy_for(session: Session, conversation: Conversation) -> SlaPolicy | None:
    """The policy that applies to the conversation now (one query)."""
    return match_policy(
        session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.workspace_id == conversation.workspace_id, SlaPolicy.enabled)
            .order_by(SlaPolicy.position, SlaPolicy.id)
        ),
        conversation.priority,
        conversation.team_id,
    )


def _apply_policy(
    session: Session,
    conversation: Conversation,
    policy: SlaPolicy | None,
    clocks: dict[str, SlaClock],
    workspace_hours: BusinessHours,
    now: datetime,
    changed: list[SlaClock],
) -> None:
    for target in TARGETS:
        minutes = None
        if policy is not None:
            minutes = (
                policy.first_response_minutes
                if target == FIRST_RESPONSE
                else policy.resolution_minutes
            )
        clock = clocks.get(target)
        if policy is None or minutes is None:
            if clock is not None and clock.status != CANCELLED and not _is_final(clock):
                clock.used_seconds += _elapsed(clock, _hours_for(clock, workspace_hours), now)
                clock.status = CANCELLED
                clock.resumed_at = None
                clock.stopped_at = now
            continue
        budget = minutes * 60
        settings = (policy.id, budget, policy.business_hours, policy.warn_at_percent)
        if clock is None:
            if conversation.status in _DONE:
                continue  # nothing to time; a reopen evaluates again
            if target == FIRST_RESPONSE and _has_agent_reply(session, conversation):
                continue  # answered before any policy applied
            clock = SlaClock(
                workspace_id=conversation.workspace_id,
                conversation_id=conversation.id,
                policy_id=policy.id,
                target=target,
                budget_seconds=budget,
                business_hours=policy.business_hours,
                warn_percent=policy.warn_at_percent,
                used_seconds=0,
                status=PAUSED,  # _move() starts it if the conversation is open
                started_at=now,
            )
            session.add(clock)
            clocks[target] = clock
            continue
        if _is_final(clock):
            continue
        current = (clock.policy_id, clock.budget_seconds, clock.business_hours, clock.warn_percent)
        if clock.status == CANCELLED:
            clock.status = PAUSED  # revived: _move() resumes it as the conversation says
            clock.stopped_at = None
        elif current == settings:
            continue
        running = clock.status == RUNNING
        if running:
            clock.used_seconds += _elapsed(clock, _hours_for(clock, workspace_hours), now)
            clock.resumed_at = now
        clock.policy_id, clock.budget_seconds = policy.id, budget
        clock.business_hours, clock.warn_percent = policy.business_hours, policy.warn_at_percent
        if running:
            _plan(clock, _hours_for(clock, workspace_hours), now)
            changed.append(clock)


def sync_clocks(
    session: Session,
    conversation: Conversation,
    now: datetime,
    *,
    replied: bool = False,
    evaluate: bool = False,
    fresh: bool = False,
) -> None:
    """Bring the conversation's clocks in line with it at ``now``: the first response given
    (``replied``), the policy evaluated again (``evaluate``), each clock running, paused or
    stopped as the status says; then due alerts, ``sla_due_at`` and the timers."""
    clocks: dict[str, SlaClock] = {}
    if not fresh:
        clocks = {
            c.target: c
            for c in session.scalars(
                select(SlaClock).where(SlaClock.conversation_id == conversation.id)
            )
        }
    policy = policy_for(session, conversation) if evaluate else None
    if not clocks and policy is None:
        return  # nothing to time: the common case costs one query
    workspace_hours = load_business_hours(session.get(Workspace, conversation.workspace_id))
    changed: list[SlaClock] = []
    first = clocks.get(FIRST_RESPONSE)
    if replied and first is not None and first.status != CANCELLED and not _is_final(first):
        if first.status == RUNNING:
            first.used_seconds += _elapsed(first, _hours_for(first, workspace_hours), now)
        _finish(session, conversation, first, now)
    if evaluate:
        _apply_policy(session, conversation, policy, clocks, workspace_hours, now, changed)
    if not clocks:
        return
    for clock in clocks.values():
        hours = _hours_for(clock, workspace_hours)
        _move(
            session, conversation, clock, _desired(conversation.status, clock), hours, now, changed
        )
    session.flush()
    for clock in clocks.values():
        _fire_due(session, conversation, clock, now)
    _set_due(session, conversation)
    _schedule_timers(session, changed, now)


@on_event
def on_sla_event(session: Session, event: ConversationEvent) -> None:
    """Listener (registered by importing this module; the runtime does): keeps the clocks of
    the event's conversation, in the event's transaction, at the event's time."""
    if event.type not in _HANDLED or event.conversation_id is None:
        return
    conversation = session.get(Conversation, event.conversation_id)
    if conversation is None or conversation.workspace_id != event.workspace_id:
        return
    now = event.created_at
    if event.type == "conversation_created":
        if wants_person(session, conversation):  # else the bot's: no clock until a handoff
            sync_clocks(session, conversation, now, evaluate=True, fresh=True)
    elif event.type == "agent_replied":
        sync_clocks(session, conversation, now, replied=True)
    elif event.type == "status_changed":
        reopened = (event.data or {}).get("to") == _ACTIVE
        sync_clocks(
            session, conversation, now, evaluate=reopened and wants_person(session, conversation)
        )
    else:
        sync_clocks(session, conversation, now, evaluate=wants_person(session, conversation))


# Timers -----------------------------------------------------------------------------------------


def fire_due(runtime: Runtime, clock_id: int, *, now: datetime | None = None) -> list[str]:
    """Append the clock's due warning and breach (each once, ever); what was appended."""
    now = now or utcnow()
    with runtime.db.write() as session:
        clock = session.get(SlaClock, clock_id)
        if clock is None or clock.status != RUNNING:
            return []
        conversation = session.get(Conversation, clock.conversation_id)
        if conversation is None:
            return []
        return _fire_due(session, conversation, clock, now)


def due_clocks(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    query = (
        select(SlaClock.id)
        .where(
            SlaClock.status == RUNNING,
            or_(
                and_(SlaClock.warned_at.is_(None), SlaClock.warn_at <= now),
                and_(SlaClock.breached_at.is_(None), SlaClock.due_at <= now),
            ),
        )
        .order_by(SlaClock.due_at, SlaClock.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def sweep(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Fire every due warning and breach (after a restart, a lost timer job, a queue outage);
    the number of alerts appended. Each clock in its own short transaction."""
    now = now or utcnow()
    with runtime.db.read() as session:
        ids = due_clocks(session, now)
    fired = 0
    for clock_id in ids:
        try:
            fired += len(fire_due(runtime, clock_id, now=now))
        except Exception:  # one bad row must not stop the others; the next sweep retries
            log.exception("SLA clock %s could not be checked", clock_id)
    if fired:
        log.info("SLA sweep appended %d alerts", fired)
    return fired


@job("sla_timer")
def sla_timer(clock_id: int) -> None:
    from frontdesk.runtime import current

    fire_due(current(), clock_id)


@periodic("sla_sweep", minute="*")
def sla_sweep() -> None:
    from frontdesk.runtime import current

    sweep(current())


# What the inbox shows ---------------------------------------------------------------------------


def span_text(seconds: float) -> str:
    """3 days 4 hours → "3d 4h"; 2h 10m; 45m; under a minute: "<1m". Same as inbox.js."""
    total = int(abs(seconds)) // 60
    if total < 1:
        return "<1m"
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


@dataclass(frozen=True)
class SlaBadge:
    level: str  # ok | warning | breached | paused
    text: str
    target: str
    due_at: datetime | None = None
    warn_at: datetime | None = None

    @property
    def title(self) -> str:
        label = TARGET_LABELS.get(self.target, self.target)
        if self.due_at is None:
            return f"{label} SLA paused while waiting on the customer"
        return f"{label} due {self.due_at.strftime('%Y-%m-%d %H:%M UTC')}"


def badge_for(clocks: Iterable[SlaClock], now: datetime) -> SlaBadge | None:
    """The badge of one conversation: its most urgent running clock, else "paused"."""
    clocks = list(clocks)
    running = [c for c in clocks if c.status == RUNNING and c.due_at is not None]
    if running:
        clock = min(running, key=lambda c: (c.due_at, c.id))
        assert clock.due_at is not None
        left = (clock.due_at - now).total_seconds()
        if left <= 0:
            return SlaBadge(
                "breached", f"breached {span_text(left)} ago", clock.target, clock.due_at
            )
        warned = clock.warned_at is not None or (clock.warn_at is not None and clock.warn_at <= now)
        level = "breached" if clock.breached_at is not None else "warning" if warned else "ok"
        return SlaBadge(level, f"{span_text(left)} left", clock.target, clock.due_at, clock.warn_at)
    waiting = [c for c in clocks if c.status == PAUSED]
    if waiting:
        return SlaBadge("paused", "SLA paused", waiting[0].target)
    return None


def sla_badges(
    session: Session, conversation_ids: Sequence[int], now: datetime
) -> dict[int, SlaBadge]:
    """Badges of a page of conversations: one query."""
    if not conversation_ids:
        return {}
    by_conversation: dict[int, list[SlaClock]] = {}
    for clock in session.scalars(
        select(SlaClock).where(
            SlaClock.conversation_id.in_(list(conversation_ids)),
            SlaClock.status.in_((RUNNING, PAUSED)),
        )
    ):
        by_conversation.setdefault(clock.conversation_id, []).append(clock)
    badges = {}
    for conversation_id, clocks in by_conversation.items():
        badge = badge_for(clocks, now)
        if badge is not None:
            badges[conversation_id] = badge
    return badges


def clocks_of(session: Session, conversation_id: int) -> list[SlaClock]:
    return list(
        session.scalars(
            select(SlaClock)
            .where(SlaClock.conversation_id == conversation_id)
            .order_by(SlaClock.target)
        )
    )


def remaining_seconds(clock: SlaClock, workspace_hours: BusinessHours, now: datetime) -> int:
    """Business (or calendar) seconds left before the breach; negative once breached."""
    return clock.budget_seconds - used_seconds(clock, workspace_hours, now)

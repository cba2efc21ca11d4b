"""The guardrails' step of the inbound pipeline: before the bot, the one place that decides
whether a person must take over at once (the never-automate policy, frustration, safety and
requests for a person; see :mod:`frontdesk.guardrails.policy`).

When the policy applies to a message:

1. ``guardrail_triggered`` is appended with ``{rule, reason, priority, signals}``, so the agent
   sees why the bot stayed silent;
2. the team the policy names (the first that exists in the workspace) is assigned, and the
   priority raised (never lowered);
3. the customer is told, in their language, that a person takes over; ``handed_off`` is
   appended with the reason (``policy_pricing``, ``urgent_safety``, …);
4. ``ctx.stop`` is set: the bot stays silent; routing still runs and keeps a team already set.

In a conversation a person already has (handed off, assigned, answered by an agent), only the
priority is raised, with its ``guardrail_triggered`` event; nothing is said to the customer,
except once to one who asks for a person again before any agent replied: that they are in the
queue (``meta.bot.kind == "waiting"``). The handoff lines promise no time: when nobody who
could take the conversation is online, the waterfall says when someone will answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from frontdesk.bot.phrases import phrase
from frontdesk.conversations.actions import (
    do_assign,
    do_change_priority,
    do_hand_off,
    do_post_bot_message,
)
from frontdesk.conversations.events import BOT, append_event
from frontdesk.domain.conversation import PRIORITY_RANK
from frontdesk.guardrails.phrases import guardrail_phrase
from frontdesk.guardrails.policy import Decision, evaluate, load_policy
from frontdesk.store.models import Conversation, Message, Team, Workspace, utcnow

if TYPE_CHECKING:
    from frontdesk.inbound import InboundContext

__all__ = ["guardrails_step"]


def _person_active(session: Session, conversation: Conversation) -> bool:
    if conversation.assignee_id is not None or (conversation.bot_state or {}).get("handed_off"):
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    Message.conversation_id == conversation.id, Message.author_type == "agent"
                )
            )
        )
    )


def _team(session: Session, workspace_id: int, slugs: tuple[str, ...]) -> Team | None:
    if not slugs:
        return None
    teams = session.scalars(
        select(Team).where(Team.workspace_id == workspace_id, Team.slug.in_(slugs))
    ).all()
    by_slug = {t.slug: t for t in teams}
    return next((by_slug[s] for s in slugs if s in by_slug), None)


def _raise_priority(session: Session, conversation: Conversation, decision: Decision) -> bool:
    wanted = decision.priority
    if not wanted or PRIORITY_RANK[wanted] <= PRIORITY_RANK.get(conversation.priority, 0):
        return False
    do_change_priority(
        session, conversation, wanted, actor=BOT, reason=f"guardrail:{decision.rule}"
    )
    return True


def _acknowledge_waiting(
    session: Session, ctx: InboundContext, conversation: Conversation, workspace: Workspace
) -> None:
    """Tell a customer who asks for a person again that they are in the queue: the first time
    after a handoff, before any agent replied (the button pressed twice gets one answer)."""
    state = dict(conversation.bot_state or {})
    if not state.get("handed_off") or state.get("waiting_acknowledged"):
        return
    agent_replied = session.scalar(
        select(
            exists().where(
                Message.conversation_id == conversation.id, Message.author_type == "agent"
            )
        )
    )
    if agent_replied:
        return
    state["waiting_acknowledged"] = True
    conversation.bot_state = state
    language = ctx.language or conversation.language or workspace.default_language or "en"
    do_post_bot_message(
        session,
        conversation,
        body=guardrail_phrase(language, "waiting"),
        meta={"bot": {"kind": "waiting", "language": language}},
        introduction=phrase(language, "intro"),
    )


def guardrails_step(session: Session, ctx: InboundContext) -> None:
    """The pipeline step: see the module docstring."""
    if ctx.stop:
        return
    conversation = session.get(Conversation, ctx.conversation_id)
    message = session.get(Message, ctx.message_id)
    workspace = session.get(Workspace, ctx.workspace_id)
    assert conversation is not None and message is not None and workspace is not None
    policy = load_policy(workspace)
    decision = evaluate(
        policy,
        message.body,
        conversation.customer.attributes or {},
        today=utcnow().date(),
        explicit_human=ctx.inbound.meta.get("intent") == "human",
    )
    if decision is None:
        return
    ctx.stop = True
    data = {**decision.event_data(), "message_id": message.id}
    ctx.notes["guardrail"] = data
    if _person_active(session, conversation):
        # A person has it already: make sure they see it in time; say nothing, except to a
        # customer asking for a person again while none has replied yet (once per handoff).
        if decision.reason == "human_request" and workspace.bot_enabled:
            _acknowledge_waiting(session, ctx, conversation, workspace)
        priority_before = conversation.priority
        if _raise_priority(session, conversation, decision):
            append_event(
                session,
                workspace_id=workspace.id,
                conversation_id=conversation.id,
                type="guardrail_triggered",
                actor=BOT,
                data={**data, "priority_from": priority_before, "handed_off": False},
            )
        return

    team = _team(session, workspace.id, decision.teams)
    data["team"] = team.slug if team is not None else None
    append_event(
        session,
        workspace_id=workspace.id,
        conversation_id=conversation.id,
        type="guardrail_triggered",
        actor=BOT,
        data={**data, "handed_off": True},
    )
    if team is not None and conversation.team_id != team.id:
        do_assign(
            session,
            conversation,
            team_id=team.id,
            assignee_id=None,
            actor=BOT,
            reason=f"guardrail:{decision.rule}",
        )
    _raise_priority(session, conversation, decision)
    if workspace.bot_enabled:
        language = ctx.language or conversation.language or workspace.default_language or "en"
        key = "case" if decision.rule == "case" else "handoff"
        if decision.rule == "safety":
            key = "account" if decision.kind == "account" else "urgent"
        do_post_bot_message(
            session,
            conversation,
            body=guardrail_phrase(language, key),
            meta={"bot": {"kind": "handoff", "language": language, "guardrail": decision.rule}},
            introduction=phrase(language, "intro"),  # F4: the customer is told it is a bot
        )
    do_hand_off(
        session,
        conversation,
        reason=decision.reason,
        actor=BOT,
        data={"rule": decision.rule, "signals": data["signals"], "source": "guardrails"},
    )

"""The routing step: the last step of the inbound pipeline (F15 to F18).

It routes a conversation once, when it needs a person and nobody routed it yet:

* after a handoff (``bot_state["handed_off"]``, set by the bot or a guardrail);
* for every message of a ticket (channels ``email`` and ``web_form``);
* for chat, when the workspace has no bot (no published article).

A conversation with an assignee already has its person and is left alone. The decision:

1. a team set already (a guardrail set it): kept (``by: guardrail``);
2. else the enabled rules in order (:mod:`frontdesk.routing.rules`): the first matching rule
   with a team or agent routes; priority and tags come from the first matching rule that sets
   each (``by: rule``);
3. else the learned router (:mod:`frontdesk.routing.learned`), when it is confident
   (``by: learned``);
4. else triage (``by: triage``).

With a team, an agent is picked by the team's strategy (:mod:`frontdesk.routing.assignment`),
or the conversation waits in the team queue. The decision is recorded as a ``routed`` event:
``{by, rule_id, team, confidence, agent_id, queued, …}``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.conversations.actions import (
    do_assign,
    do_change_priority,
    do_send_to_triage,
    do_set_tags,
)
from frontdesk.conversations.attention import handed_off, workspace_has_bot
from frontdesk.conversations.events import Actor, append_event
from frontdesk.domain.conversation import PRIORITY_RANK, TICKET_CHANNELS
from frontdesk.errors import FrontdeskError
from frontdesk.routing.assignment import assign_in_team
from frontdesk.routing.rules import Facts, RuleOutcome, evaluate
from frontdesk.routing.store import list_rules, resolve_team, to_rule
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Message,
    Team,
    utcnow,
)

if TYPE_CHECKING:
    from frontdesk.inbound import InboundContext

__all__ = ["TICKET_CHANNELS", "needs_routing", "route_conversation", "routing_step"]

log = logging.getLogger(__name__)

ROUTER = Actor.system()
# How much of the conversation the rules read: the customer's latest messages.
TEXT_MESSAGES = 10
TEXT_CHARS = 20_000


def already_routed(session: Session, conversation_id: int) -> bool:
    return (
        session.scalar(
            select(ConversationEvent.id)
            .where(
                ConversationEvent.conversation_id == conversation_id,
                ConversationEvent.type == "routed",
            )
            .limit(1)
        )
        is not None
    )


def needs_routing(session: Session, conversation: Conversation) -> bool:
    """Whether a person should take ``conversation`` and nobody routed it yet."""
    if conversation.assignee_id is not None or conversation.status == "closed":
        return False
    wants_person = (
        handed_off(conversation)
        or conversation.channel in TICKET_CHANNELS
        or (
            conversation.channel == "chat"
            and not workspace_has_bot(session, conversation.workspace_id)
        )
    )
    return wants_person and not already_routed(session, conversation.id)


def conversation_text(session: Session, conversation: Conversation) -> str:
    """The subject and the customer's latest messages, oldest first."""
    bodies = list(
        session.scalars(
            select(Message.body)
            .where(
                Message.conversation_id == conversation.id,
                Message.author_type == "customer",
                Message.kind == "message",
            )
            .order_by(Message.seq.desc())
            .limit(TEXT_MESSAGES)
        )
    )
    parts = ([conversation.subject] if conversation.subject else []) + bodies[::-1]
    return "\n".join(parts)[:TEXT_CHARS]


def facts_for(conversation: Conversation, text: str, language: str | None) -> Facts:
    customer = conversation.customer
    return Facts(
        text=text,
        channel=conversation.channel,
        language=language or conversation.language or customer.language,
        page_url=conversation.page_url or customer.last_page_url,
        attributes=dict(customer.attributes or {}),
        today=utcnow().date(),
    )


def _predict(
    session: Session, conversation: Conversation, text: str, language: str | None
) -> Any | None:
    """The learned router's prediction, or None when there is no router or it failed."""
    try:
        from frontdesk.routing.learned import predict_route  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return predict_route(session, conversation.workspace_id, conversation, text, language)
    except Exception:
        log.exception("learned router failed for conversation %s", conversation.id)
        return None


def _apply_rule_extras(
    session: Session, conversation: Conversation, outcome: RuleOutcome
) -> dict[str, Any]:
    applied: dict[str, Any] = {}
    if outcome.priority is not None:
        do_change_priority(
            session,
            conversation,
            outcome.priority,
            actor=ROUTER,
            reason=f"rule:{outcome.priority_rule_id}",
        )
        applied["priority"] = outcome.priority
    if outcome.tags:
        tags = sorted({*(conversation.tags or []), *outcome.tags})
        do_set_tags(session, conversation, tags, actor=ROUTER)
        applied["tags"] = list(outcome.tags)
    return applied


def _give_to_named_agent(
    session: Session, conversation: Conversation, team: Team | None, agent_id: int
) -> Agent | None:
    """A rule's explicit agent takes the conversation (whatever their load), if still active
    and, with a team, a member of it."""
    agent = session.get(Agent, agent_id)
    if agent is None or agent.workspace_id != conversation.workspace_id or not agent.is_active:
        return None
    try:
        with session.begin_nested():
            do_assign(
                session,
                conversation,
                team_id=team.id if team is not None else None,
                assignee_id=agent.id,
                actor=ROUTER,
                reason="rule",
            )
    except FrontdeskError as exc:
        log.info("rule agent %s not used for %s: %s", agent_id, conversation.id, exc.message)
        return None
    agent.last_assigned_at = utcnow()
    return agent


def route_conversation(
    session: Session, conversation: Conversation, *, text: str, language: str | None
) -> dict[str, Any]:
    """Decide where ``conversation`` goes, apply it, and record the ``routed`` event."""
    data: dict[str, Any] = {"by": "triage", "rule_id": None, "team": None, "confidence": None}
    team: Team | None = None
    named_agent: int | None = None
    if conversation.team_id is not None:
        team = session.get(Team, conversation.team_id)
        data.update(by="guardrail", team=conversation.team_id, confidence=1.0)
    else:
        rules = [to_rule(r) for r in list_rules(session, conversation.workspace_id)]
        outcome = evaluate(rules, facts_for(conversation, text, language))
        if outcome.matched:
            data["matched_rules"] = list(outcome.matched)
            data.update(_apply_rule_extras(session, conversation, outcome))
        if outcome.routes:
            team = resolve_team(session, conversation.workspace_id, outcome.team)
            named_agent = outcome.agent
            if team is not None or named_agent is not None:
                data.update(by="rule", rule_id=outcome.team_rule_id, confidence=1.0)
        if data["by"] == "triage":
            prediction = _predict(session, conversation, text, language)
            if prediction is not None and prediction.confident and prediction.team_id:
                predicted = session.get(Team, prediction.team_id)
                if predicted is not None and predicted.workspace_id == conversation.workspace_id:
                    team = predicted
                    data.update(
                        by="learned",
                        confidence=round(float(prediction.team_confidence), 4),
                        threshold=prediction.threshold,
                        category=prediction.category,
                    )
                    if (
                        outcome.priority is None
                        and prediction.priority in PRIORITY_RANK
                        and prediction.priority_confidence >= prediction.threshold
                        and conversation.priority == "normal"
                    ):
                        do_change_priority(
                            session,
                            conversation,
                            prediction.priority,
                            actor=ROUTER,
                            reason="learned",
                        )
                        data["priority"] = prediction.priority
    agent: Agent | None = None
    if named_agent is not None:
        agent = _give_to_named_agent(session, conversation, team, named_agent)
    if agent is None and team is not None:
        agent = assign_in_team(session, conversation, team, actor=ROUTER, reason=data["by"])
    if team is None and agent is None:
        data.update(by="triage", rule_id=None, team=None, confidence=None)
        do_send_to_triage(session, conversation, actor=ROUTER, reason="not_routed")
    if team is not None:
        data["team"] = team.id
        data["team_slug"] = team.slug
    data["agent_id"] = agent.id if agent is not None else None
    data["queued"] = team is not None and agent is None
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="routed",
        actor=ROUTER,
        data=data,
    )
    return data


def routing_step(session: Session, ctx: InboundContext) -> None:
    """Pipeline step: route the conversation when it needs a person (runs even after
    ``ctx.stop``: a handoff is exactly when routing matters)."""
    conversation = session.get(Conversation, ctx.conversation_id)
    if conversation is None or not needs_routing(session, conversation):
        return
    text = conversation_text(session, conversation)
    ctx.notes["routing"] = route_conversation(
        session, conversation, text=text, language=ctx.language
    )

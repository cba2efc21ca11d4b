"""The only code that changes assignment rules: create, update, reorder, delete.

Callers own the transaction. Every change validates the whole definition with
:func:`frontdesk.routing.rules.validate_rule` and checks that the team and agent it names
belong to the workspace. Positions are kept as 0, 1, 2, … per workspace; changes take a lock
on the workspace row (PostgreSQL) so two admins reordering at once cannot interleave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.routing.rules import Rule, validate_rule
from frontdesk.store.models import Agent, AssignmentRule, Team, TeamMember, utcnow
from frontdesk.store.ordering import lock_workspace, moved, renumber, reorder

__all__ = [
    "access_rule",
    "definition",
    "do_create_rule",
    "do_delete",
    "do_move",
    "do_reorder",
    "do_update_rule",
    "list_rules",
    "resolve_team",
    "to_rule",
]

MAX_RULES = 500


def access_rule(session: Session, workspace_id: int, rule_id: int) -> AssignmentRule:
    rule = session.get(AssignmentRule, rule_id)
    if rule is None or rule.workspace_id != workspace_id:
        raise NotFound(f"Rule {rule_id} was not found.")
    return rule


def list_rules(session: Session, workspace_id: int) -> list[AssignmentRule]:
    return list(
        session.scalars(
            select(AssignmentRule)
            .where(AssignmentRule.workspace_id == workspace_id)
            .order_by(AssignmentRule.position, AssignmentRule.id)
        )
    )


def definition(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "match": rule.match,
        "conditions": list(rule.conditions or []),
        "actions": dict(rule.actions or {}),
    }


def to_rule(rule: AssignmentRule) -> Rule:
    return Rule(
        id=rule.id,
        name=rule.name,
        enabled=rule.enabled,
        match=rule.match,
        conditions=list(rule.conditions or []),
        actions=dict(rule.actions or {}),
    )


def resolve_team(session: Session, workspace_id: int, ref: int | str | None) -> Team | None:
    """The team a rule names by id or slug, if it is (still) in the workspace."""
    if ref is None:
        return None
    if isinstance(ref, int):
        team = session.get(Team, ref)
        return team if team is not None and team.workspace_id == workspace_id else None
    return session.scalar(select(Team).where(Team.workspace_id == workspace_id, Team.slug == ref))


def _check_targets(session: Session, workspace_id: int, actions: Mapping[str, Any]) -> None:
    team = None
    if actions.get("team") is not None:
        team = resolve_team(session, workspace_id, actions["team"])
        if team is None:
            raise NotFound(f"Team {actions['team']!r} was not found.")
    agent_id = actions.get("agent")
    if agent_id is not None:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.workspace_id != workspace_id or not agent.is_active:
            raise NotFound(f"Agent {agent_id} was not found.")
        if team is not None and session.get(TeamMember, (team.id, agent.id)) is None:
            raise InvalidInput(
                f"{agent.name} is not a member of that team; pick a member or no agent.",
                details=[{"field": "actions.agent", "message": "not a member of the team"}],
            )


def do_create_rule(
    session: Session, workspace_id: int, values: Mapping[str, Any]
) -> AssignmentRule:
    """A new rule, last in the order unless ``values["position"]`` (0 = first) says otherwise."""
    clean = validate_rule(values)
    _check_targets(session, workspace_id, clean["actions"])
    lock_workspace(session, workspace_id)
    rules = list_rules(session, workspace_id)
    if len(rules) >= MAX_RULES:
        raise InvalidInput(f"A workspace has at most {MAX_RULES} rules; delete unused ones.")
    now = utcnow()
    rule = AssignmentRule(
        workspace_id=workspace_id, position=len(rules), created_at=now, updated_at=now, **clean
    )
    session.add(rule)
    session.flush()
    position = values.get("position")
    if isinstance(position, int) and not isinstance(position, bool) and position < len(rules):
        rules.insert(max(position, 0), rule)
        renumber(rules)
        session.flush()
    return rule


def do_update_rule(
    session: Session, rule: AssignmentRule, changes: Mapping[str, Any]
) -> AssignmentRule:
    """Change some of name, enabled, match, conditions and actions; the rest stays."""
    unknown = set(changes) - {"name", "enabled", "match", "conditions", "actions"}
    if unknown:
        raise InvalidInput(f"Unknown rule field {sorted(unknown)[0]!r}.")
    clean = validate_rule({**definition(rule), **changes})
    if "actions" in changes:  # a rule whose team was deleted can still be disabled or renamed
        _check_targets(session, rule.workspace_id, clean["actions"])
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.updated_at = utcnow()
    session.flush()
    return rule


def do_reorder(
    session: Session, workspace_id: int, rule_ids: Sequence[int]
) -> list[AssignmentRule]:
    """Put ``rule_ids`` first, in this order; rules not listed follow in their current order."""
    lock_workspace(session, workspace_id)
    ordered = reorder(list_rules(session, workspace_id), rule_ids, field="rule_ids", noun="rule")
    session.flush()
    return ordered


def do_move(session: Session, rule: AssignmentRule, offset: int) -> list[AssignmentRule]:
    """Move a rule up (``offset`` < 0) or down in the order."""
    ids = [r.id for r in list_rules(session, rule.workspace_id)]
    return do_reorder(session, rule.workspace_id, moved(ids, rule.id, offset))


def do_delete(session: Session, rule: AssignmentRule) -> None:
    workspace_id = rule.workspace_id
    lock_workspace(session, workspace_id)
    session.delete(rule)
    session.flush()
    renumber(list_rules(session, workspace_id))
    session.flush()


def count_rules(session: Session, workspace_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(AssignmentRule.id)).where(AssignmentRule.workspace_id == workspace_id)
        )
        or 0
    )

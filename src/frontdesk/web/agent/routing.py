"""Admin pages for routing (F15, F18): assignment rules in order, and each team's assignment
mode. Admins only; every POST carries the session's CSRF token.

A rule's form has numbered condition rows (``cond-0-field``, ``cond-0-key``, ``cond-0-op``,
``cond-0-value``, …); a row without a field is ignored. Values are typed as the field needs:
a comma-separated list for keywords, products and ``in``; a number for tenure and spend;
true/false for ``exists``. A definition the server refuses is shown again with what to fix.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from frontdesk.accounts.actions import access_team, update_team
from frontdesk.errors import FrontdeskError, InvalidInput
from frontdesk.routing.rules import (
    FIELD_LABELS,
    FIELD_OPERATORS,
    MATCHES,
    OPERATOR_LABELS,
    PRIORITIES,
)
from frontdesk.routing.store import (
    access_rule,
    definition,
    do_create_rule,
    do_delete,
    do_move,
    do_update_rule,
    list_rules,
    resolve_team,
)
from frontdesk.store.models import Agent, AssignmentRule, Team
from frontdesk.web.agent.admin import require_admin_page
from frontdesk.web.agent.common import (
    HTMLRoute,
    PageId,
    PageLogin,
    SessionForm,
    redirect,
    render,
    text_field,
)
from frontdesk.web.deps import AgentLogin, RuntimeDep

router = APIRouter(
    route_class=HTMLRoute, include_in_schema=False, dependencies=[Depends(require_admin_page)]
)

MAX_ROWS = 20
BLANK_ROWS = 2
ASSIGNMENT_MODES = {
    "round_robin": "Round robin",
    "least_loaded": "Least loaded",
    "manual": "Manual (queue only)",
}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LIST_OPS = ("in",)
_LIST_FIELDS = ("keywords", "product")


# Form values <-> rule definitions --------------------------------------------------------------


def _typed(text: str) -> Any:
    """A number, true/false, or the text itself (for values of customer attributes)."""
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _parse_value(field: str, op: str, raw: str) -> Any:
    raw = raw.strip()
    if field in _LIST_FIELDS or op in _LIST_OPS:
        items = [p.strip() for p in re.split(r"[,\n]", raw) if p.strip()]
        if field == "attribute":
            return [_typed(i) for i in items]
        return items
    if op == "exists":
        if raw.lower() in ("", "true", "yes", "1"):
            return True
        if raw.lower() in ("false", "no", "0"):
            return False
        return raw
    if field in ("tenure_days", "spend") or op in ("gt", "gte", "lt", "lte"):
        if _NUMBER.match(raw):
            return _typed(raw)
        return raw  # a date (attribute) or a mistake validate_rule explains
    if field == "attribute" and op in ("eq", "neq", "contains"):
        return _typed(raw)
    return raw


def _show_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _form_rows(form: FormData) -> list[dict[str, str]]:
    rows = []
    for i in range(MAX_ROWS):
        rows.append(
            {
                "field": text_field(form, f"cond-{i}-field", max_len=32).strip(),
                "key": text_field(form, f"cond-{i}-key", max_len=64).strip(),
                "op": text_field(form, f"cond-{i}-op", max_len=16).strip(),
                "value": text_field(form, f"cond-{i}-value", max_len=5000),
            }
        )
    return rows


def _rule_values(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The definition the form describes, and the raw values to show the form again."""
    rows = _form_rows(form)
    conditions: list[dict[str, Any]] = []
    for row in rows:
        if not row["field"]:
            continue
        condition: dict[str, Any] = {"field": row["field"], "op": row["op"]}
        if not row["op"] and len(FIELD_OPERATORS.get(row["field"], ())) == 1:
            condition["op"] = FIELD_OPERATORS[row["field"]][0]
        if row["field"] == "attribute":
            condition["key"] = row["key"]
        condition["value"] = _parse_value(row["field"], condition["op"], row["value"])
        conditions.append(condition)
    team_raw = text_field(form, "team", max_len=20).strip()
    agent_raw = text_field(form, "agent", max_len=20).strip()
    tags = [t.strip() for t in text_field(form, "tags", max_len=2000).split(",") if t.strip()]
    actions: dict[str, Any] = {}
    if team_raw:
        actions["team"] = int(team_raw) if team_raw.isdigit() else team_raw
    if agent_raw:
        if not agent_raw.isdigit():
            raise InvalidInput("Choose the agent from the list.")
        actions["agent"] = int(agent_raw)
    priority = text_field(form, "priority", max_len=16).strip()
    if priority:
        actions["priority"] = priority
    if tags:
        actions["tags"] = tags
    values = {
        "name": text_field(form, "name", max_len=200),
        "enabled": form.get("enabled") == "on",
        "match": text_field(form, "match", max_len=8) or "all",
        "conditions": conditions,
        "actions": actions,
    }
    shown = {
        **values,
        "rows": [r for r in rows if r["field"]],
        "team": team_raw,
        "agent": agent_raw,
        "priority": priority,
        "tags": ", ".join(tags),
    }
    return values, shown


def _shown(rule: AssignmentRule | None) -> dict[str, Any]:
    if rule is None:
        return {
            "name": "",
            "enabled": True,
            "match": "all",
            "rows": [],
            "team": "",
            "agent": "",
            "priority": "",
            "tags": "",
        }
    d = definition(rule)
    actions = d["actions"]
    return {
        "name": d["name"],
        "enabled": d["enabled"],
        "match": d["match"],
        "rows": [
            {
                "field": c.get("field", ""),
                "key": c.get("key", ""),
                "op": c.get("op", ""),
                "value": _show_value(c.get("value")),
            }
            for c in d["conditions"]
        ],
        "team": str(actions.get("team", "")),
        "agent": str(actions.get("agent", "")),
        "priority": actions.get("priority", ""),
        "tags": ", ".join(actions.get("tags", [])),
    }


# Pages -----------------------------------------------------------------------------------------


def _choices(session: Session, login: AgentLogin) -> dict[str, Any]:
    teams = session.scalars(
        select(Team).where(Team.workspace_id == login.workspace_id).order_by(Team.name)
    ).all()
    agents = session.scalars(
        select(Agent)
        .where(Agent.workspace_id == login.workspace_id, Agent.is_active)
        .order_by(Agent.name)
    ).all()
    return {
        "teams": teams,
        "agents": agents,
        "fields": FIELD_LABELS,
        "field_operators": FIELD_OPERATORS,
        "operators": OPERATOR_LABELS,
        "priorities": PRIORITIES,
        "matches": MATCHES,
        "modes": ASSIGNMENT_MODES,
        "section": "rules",
    }


def _describe(session: Session, rule: AssignmentRule, agents: dict[int, str]) -> dict[str, Any]:
    parts = []
    for c in rule.conditions or []:
        label = FIELD_LABELS.get(c.get("field", ""), c.get("field", ""))
        if c.get("field") == "attribute":
            label = f"{label} {c.get('key')}"
        op = OPERATOR_LABELS.get(c.get("op", ""), c.get("op", ""))
        parts.append(f"{label} {op} {_show_value(c.get('value'))}")
    actions = rule.actions or {}
    does = []
    if actions.get("team") is not None:
        team = resolve_team(session, rule.workspace_id, actions["team"])
        does.append(f"team {team.name if team else str(actions['team']) + ' (missing)'}")
    if actions.get("agent"):
        does.append(f"agent {agents.get(actions['agent'], '#' + str(actions['agent']))}")
    if actions.get("priority"):
        does.append(f"priority {actions['priority']}")
    if actions.get("tags"):
        does.append("tags " + ", ".join(actions["tags"]))
    joiner = " and " if rule.match == "all" else " or "
    return {"rule": rule, "when": joiner.join(parts), "then": "; ".join(does)}


@router.get("/admin/rules")
def rules_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        context = _choices(session, login)
        agents = {a.id: a.name for a in context["agents"]}
        context["rules"] = [
            _describe(session, r, agents) for r in list_rules(session, login.workspace_id)
        ]
    return render(request, "agent/admin/rules.html", context, login=login)


def _edit_page(
    request: Request,
    login: PageLogin,
    runtime: RuntimeDep,
    *,
    rule_id: int | None,
    shown: dict[str, Any],
    error: FrontdeskError | None = None,
) -> Response:
    with runtime.db.read() as session:
        context = _choices(session, login)
    rows = list(shown["rows"])
    rows += [{"field": "", "key": "", "op": "", "value": ""}] * BLANK_ROWS
    context.update(
        {
            "rule_id": rule_id,
            "v": shown,
            "rows": rows[:MAX_ROWS],
            "error": error.message if error else None,
            "problems": error.details if error else [],
        }
    )
    return render(
        request,
        "agent/admin/rules_edit.html",
        context,
        login=login,
        status_code=error.status if error else 200,
    )


@router.get("/admin/rules/new")
def new_rule_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    return _edit_page(request, login, runtime, rule_id=None, shown=_shown(None))


@router.post("/admin/rules")
def create_rule_form(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    values, shown = _rule_values(form)
    try:
        with runtime.db.write() as session:
            do_create_rule(session, login.workspace_id, values)
    except FrontdeskError as exc:
        return _edit_page(request, login, runtime, rule_id=None, shown=shown, error=exc)
    return redirect("/admin/rules")


@router.post("/admin/rules/team-assignment/{team_id}")
def team_assignment_form(
    team_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    mode = text_field(form, "assignment", max_len=16)
    with runtime.db.write() as session:
        update_team(session, access_team(session, login.workspace_id, team_id), assignment=mode)
    return redirect("/admin/rules#team-assignment")


@router.get("/admin/rules/{rule_id}")
def edit_rule_page(
    rule_id: PageId, request: Request, login: PageLogin, runtime: RuntimeDep
) -> Response:
    with runtime.db.read() as session:
        shown = _shown(access_rule(session, login.workspace_id, rule_id))
    return _edit_page(request, login, runtime, rule_id=rule_id, shown=shown)


@router.post("/admin/rules/{rule_id}")
def save_rule_form(
    rule_id: PageId, request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    values, shown = _rule_values(form)
    with runtime.db.read() as session:
        access_rule(session, login.workspace_id, rule_id)  # another workspace's rule: 404
    try:
        with runtime.db.write() as session:
            do_update_rule(session, access_rule(session, login.workspace_id, rule_id), values)
    except FrontdeskError as exc:
        return _edit_page(request, login, runtime, rule_id=rule_id, shown=shown, error=exc)
    return redirect("/admin/rules")


@router.post("/admin/rules/{rule_id}/toggle")
def toggle_rule_form(
    rule_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        rule = access_rule(session, login.workspace_id, rule_id)
        do_update_rule(session, rule, {"enabled": not rule.enabled})
    return redirect("/admin/rules")


@router.post("/admin/rules/{rule_id}/move")
def move_rule_form(
    rule_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    direction = text_field(form, "direction", max_len=8)
    if direction not in ("up", "down"):
        raise InvalidInput("Move a rule up or down.")
    with runtime.db.write() as session:
        rule = access_rule(session, login.workspace_id, rule_id)
        do_move(session, rule, -1 if direction == "up" else 1)
    return redirect("/admin/rules")


@router.post("/admin/rules/{rule_id}/delete")
def delete_rule_form(
    rule_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        do_delete(session, access_rule(session, login.workspace_id, rule_id))
    return redirect("/admin/rules")

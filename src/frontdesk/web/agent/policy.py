"""Admin pages of the never-automate policy (F5): toggle each rule, edit its keywords per
language, the new-customer days, and custom attribute conditions → team / priority.

Every form posts with the session's CSRF token (``SessionForm``) and is admin-only. A bad
definition re-renders the page with the problems listed (status 422); nothing is saved.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.guardrails.policy import (
    INTENT_RULES,
    LANGUAGES,
    OPERATORS,
    RULE_LABELS,
    RULE_REASONS,
    Policy,
    default_policy,
    load_policy,
    save_policy,
)
from frontdesk.store.models import Team, Workspace
from frontdesk.web.agent.admin import require_admin_page
from frontdesk.web.agent.common import (
    HTMLRoute,
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

PRIORITY_CHOICES = ("", "low", "normal", "high", "urgent")
MAX_CONDITIONS_IN_FORM = 3


def _workspace(session: Session, login: AgentLogin) -> Workspace:
    workspace = session.get(Workspace, login.workspace_id)
    if workspace is None:
        raise NotFound("Workspace not found.")
    return workspace


def _team_slugs(session: Session, workspace_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Team.slug).where(Team.workspace_id == workspace_id).order_by(Team.slug)
        )
    )


def _missing_teams(policy: Policy, slugs: list[str]) -> list[str]:
    named: set[str] = set()
    for name in INTENT_RULES:
        rule = policy.message_rule(name)
        named.update(t for t in (rule.team, rule.fallback_team) if t)
    if policy.customer.team:
        named.add(policy.customer.team)
    named.update(r.team for r in policy.custom if r.team)
    return sorted(named - set(slugs))


def _page(
    request: Request,
    login: AgentLogin,
    runtime: RuntimeDep,
    *,
    policy: Policy | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    with runtime.db.read() as session:
        workspace = _workspace(session, login)
        current = policy or load_policy(workspace)
        slugs = _team_slugs(session, workspace.id)
    context: dict[str, Any] = {
        "section": "policy",
        "policy": current,
        "rules": [
            (n, RULE_LABELS[n], RULE_REASONS[n], current.message_rule(n)) for n in INTENT_RULES
        ],
        "languages": LANGUAGES,
        "operators": OPERATORS,
        "priorities": PRIORITY_CHOICES,
        "team_slugs": slugs,
        "missing_teams": _missing_teams(current, slugs),
        "errors": errors or [],
        "notice": "Policy saved." if request.query_params.get("saved") else None,
        "condition_rows": range(MAX_CONDITIONS_IN_FORM),
    }
    return render(request, "agent/admin/policy.html", context, login=login, status_code=status_code)


def _save(
    request: Request, login: AgentLogin, runtime: RuntimeDep, data: dict[str, Any]
) -> Response:
    try:
        with runtime.db.write() as session:
            save_policy(session, _workspace(session, login), data)
    except InvalidInput as exc:
        problems = [f"{d['field']}: {d['message']}" for d in exc.details if isinstance(d, dict)]
        return _page(request, login, runtime, errors=problems or [exc.message], status_code=422)
    return redirect("/admin/policy?saved=1")


@router.get("/admin/policy")
def policy_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    return _page(request, login, runtime)


def _keywords(form: FormData, prefix: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for language in LANGUAGES:
        raw = text_field(form, f"{prefix}.keywords.{language}", max_len=20_000)
        words = [w.strip() for w in re.split(r"[\n,，、]", raw) if w.strip()]
        if words:
            result[language] = words
    return result


def _optional(form: FormData, name: str, *, max_len: int = 100) -> str | None:
    return text_field(form, name, max_len=max_len).strip() or None


def _days(form: FormData, name: str) -> Any:
    raw = text_field(form, name, max_len=10).strip()
    return int(raw) if raw.isdigit() else raw  # not a number: the validation says so


@router.post("/admin/policy")
def save_rules(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.read() as session:
        current = load_policy(_workspace(session, login))
    data = current.model_dump(mode="json")
    for name in INTENT_RULES:
        data[name] = {
            "enabled": form.get(f"{name}.enabled") == "on",
            "builtin": form.get(f"{name}.builtin") == "on",
            "keywords": _keywords(form, name),
            "team": _optional(form, f"{name}.team"),
            "fallback_team": _optional(form, f"{name}.fallback_team"),
            "priority": _optional(form, f"{name}.priority"),
        }
    data["customer"] = {
        "enabled": form.get("customer.enabled") == "on",
        "trial": form.get("customer.trial") == "on",
        "vip": form.get("customer.vip") == "on",
        "at_risk": form.get("customer.at_risk") == "on",
        "new_customer_days": _days(form, "customer.new_customer_days"),
        "team": _optional(form, "customer.team"),
        "priority_vip_at_risk": _optional(form, "customer.priority_vip_at_risk"),
        "priority_other": _optional(form, "customer.priority_other"),
    }
    return _save(request, login, runtime, data)


_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def _scalar(raw: str) -> str | int | float | bool:
    value = raw.strip()
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def _condition_value(operator: str, raw: str) -> Any:
    if operator in ("is_true", "is_false", "exists", "missing"):
        return None
    if operator in ("in", "not_in"):
        return [_scalar(v) for v in raw.split(",") if v.strip()]
    if not raw.strip():
        return None
    return _scalar(raw)


@router.post("/admin/policy/custom")
def add_custom_rule(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    conditions = []
    for i in range(MAX_CONDITIONS_IN_FORM):
        attribute = text_field(form, f"condition.{i}.attribute", max_len=100).strip()
        if not attribute:
            continue
        operator = text_field(form, f"condition.{i}.operator", max_len=40).strip()
        raw = text_field(form, f"condition.{i}.value", max_len=2000)
        conditions.append(
            {"attribute": attribute, "operator": operator, "value": _condition_value(operator, raw)}
        )
    rule = {
        "name": text_field(form, "name", max_len=200),
        "match": text_field(form, "match", max_len=10) or "all",
        "conditions": conditions,
        "team": _optional(form, "team"),
        "priority": _optional(form, "priority"),
    }
    with runtime.db.read() as session:
        current = load_policy(_workspace(session, login))
    data = current.model_dump(mode="json")
    data["custom"] = [*data["custom"], rule]
    return _save(request, login, runtime, data)


def _custom_index(policy: Policy, index: int) -> int:
    if not 0 <= index < len(policy.custom):
        raise NotFound("That custom rule was not found.")
    return index


@router.post("/admin/policy/custom/{index}/toggle")
def toggle_custom_rule(
    request: Request, index: int, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.read() as session:
        current = load_policy(_workspace(session, login))
    data = current.model_dump(mode="json")
    rule = data["custom"][_custom_index(current, index)]
    rule["enabled"] = not rule["enabled"]
    return _save(request, login, runtime, data)


@router.post("/admin/policy/custom/{index}/delete")
def delete_custom_rule(
    request: Request, index: int, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.read() as session:
        current = load_policy(_workspace(session, login))
    data = current.model_dump(mode="json")
    del data["custom"][_custom_index(current, index)]
    return _save(request, login, runtime, data)


@router.post("/admin/policy/reset")
def reset_policy(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    return _save(request, login, runtime, default_policy().model_dump(mode="json"))

"""Admin → SLAs (F31): the SLA policies in the order they are tried, and the workspace's
business hours, holidays and timezone. Admins only; every POST carries the session's CSRF
token. A definition the server refuses is shown again (status 422, or 409 for a policy left
without a target) with what to fix; nothing is saved.

Opening hours are typed per weekday as ``09:00-12:30, 13:30-17:00`` (empty: closed), holidays
one date per line (``2026-12-25``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from frontdesk.automation.sla import (
    TARGET_LABELS,
    access_policy,
    clear_business_hours,
    definition,
    do_create_policy,
    do_delete_policy,
    do_move_policy,
    do_update_policy,
    has_business_hours,
    list_policies,
    load_business_hours,
    save_business_hours,
    span_text,
)
from frontdesk.domain.business_hours import DAY_LABELS, DAY_NAMES
from frontdesk.domain.conversation import PRIORITIES
from frontdesk.errors import FrontdeskError, InvalidInput, NotFound
from frontdesk.store.models import SlaPolicy, Team, Workspace, utcnow
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

_INTERVAL = re.compile(r"^\s*(\S+?)\s*[-–—]\s*(\S+)\s*$")
_NUMBER = re.compile(r"^\d{1,9}$")


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


# Form values <-> definitions ----------------------------------------------------------------


def _number(form: FormData, name: str) -> Any:
    raw = text_field(form, name, max_len=20).strip()
    if not raw:
        return None
    return int(raw) if _NUMBER.match(raw) else raw  # not a number: the validation says so


def _policy_values(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The definition the form describes, and the raw values to show the form again."""
    team_raw = text_field(form, "team_id", max_len=20).strip()
    priority = text_field(form, "priority", max_len=16).strip() or None
    counted = text_field(form, "counted", max_len=16).strip() or "business"
    if counted not in ("business", "calendar"):
        raise InvalidInput("Count the targets in business hours or in calendar time.")
    values = {
        "name": text_field(form, "name", max_len=200),
        "enabled": form.get("enabled") == "on",
        "priority": priority,
        "team_id": int(team_raw) if team_raw.isdigit() else (team_raw or None),
        "first_response_minutes": _number(form, "first_response_minutes"),
        "resolution_minutes": _number(form, "resolution_minutes"),
        "business_hours": counted == "business",
        "warn_at_percent": _number(form, "warn_at_percent"),
    }
    if values["warn_at_percent"] is None:
        values["warn_at_percent"] = 80
    shown = {
        **values,
        "team_id": team_raw,
        "priority": priority or "",
        "first_response_minutes": text_field(form, "first_response_minutes", max_len=20),
        "resolution_minutes": text_field(form, "resolution_minutes", max_len=20),
        "warn_at_percent": text_field(form, "warn_at_percent", max_len=20),
    }
    return values, shown


def _policy_shown(policy: SlaPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {
            "name": "",
            "enabled": True,
            "priority": "",
            "team_id": "",
            "first_response_minutes": "",
            "resolution_minutes": "",
            "business_hours": True,
            "warn_at_percent": "80",
        }
    d = definition(policy)
    return {
        **d,
        "priority": d["priority"] or "",
        "team_id": str(d["team_id"] or ""),
        "first_response_minutes": str(d["first_response_minutes"] or ""),
        "resolution_minutes": str(d["resolution_minutes"] or ""),
        "warn_at_percent": str(d["warn_at_percent"]),
    }


def _hours_values(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The business hours the form describes (for BusinessHours.parse) and the raw values."""
    weekly: dict[str, list[list[str]]] = {}
    problems: list[dict[str, str]] = []
    days: dict[str, str] = {}
    for day in DAY_NAMES:
        raw = text_field(form, f"day-{day}", max_len=500)
        days[day] = raw
        pieces = [p for p in re.split(r"[,;\n]", raw) if p.strip()]
        intervals = []
        for index, piece in enumerate(pieces):
            found = _INTERVAL.match(piece)
            if not found:
                problems.append(
                    {
                        "field": f"weekly.{day}[{index}]",
                        "message": f"{piece.strip()[:30]!r}: write an interval as 09:00-17:00",
                    }
                )
                continue
            intervals.append([found.group(1), found.group(2)])
        if intervals:
            weekly[day] = intervals
    holidays_raw = text_field(form, "holidays", max_len=20_000)
    holidays = [h.strip() for h in re.split(r"[,\s]+", holidays_raw) if h.strip()]
    shown = {
        "timezone": text_field(form, "timezone", max_len=64).strip(),
        "days": days,
        "holidays": holidays_raw,
    }
    if problems:
        first = problems[0]
        raise _HoursFormError(
            InvalidInput(f"Business hours: {first['field']}: {first['message']}", details=problems),
            shown,
        )
    return {"timezone": shown["timezone"], "weekly": weekly, "holidays": holidays}, shown


class _HoursFormError(Exception):
    def __init__(self, error: FrontdeskError, shown: dict[str, Any]) -> None:
        super().__init__(error.message)
        self.error = error
        self.shown = shown


def _hours_shown(workspace: Workspace) -> dict[str, Any]:
    stored = load_business_hours(workspace).to_settings()
    configured = has_business_hours(workspace)
    return {
        "timezone": stored["timezone"] if configured else "Europe/London",
        "days": {
            day: ", ".join(f"{s}-{e}" for s, e in stored["weekly"].get(day, []))
            if configured
            else ("09:00-17:00" if day in DAY_NAMES[:5] else "")
            for day in DAY_NAMES
        },
        "holidays": "\n".join(stored["holidays"]),
    }


# The page -----------------------------------------------------------------------------------


def _workspace(session: Session, login: AgentLogin) -> Workspace:
    workspace = session.get(Workspace, login.workspace_id)
    if workspace is None:
        raise NotFound("Workspace not found.")
    return workspace


def _describe(policy: SlaPolicy, teams: dict[int, Team]) -> dict[str, Any]:
    team = teams.get(policy.team_id) if policy.team_id is not None else None
    applies = [
        policy.priority or "any priority",
        team.name if team else ("any team" if policy.team_id is None else "a deleted team"),
    ]
    targets = []
    if policy.first_response_minutes:
        targets.append(
            f"{TARGET_LABELS['first_response']}: {span_text(policy.first_response_minutes * 60)}"
        )
    if policy.resolution_minutes:
        targets.append(
            f"{TARGET_LABELS['resolution']}: {span_text(policy.resolution_minutes * 60)}"
        )
    return {
        "policy": policy,
        "applies": " · ".join(applies),
        "targets": "; ".join(targets),
        "counted": "business hours" if policy.business_hours else "calendar time",
    }


def _errors(error: FrontdeskError | None) -> list[str]:
    if error is None:
        return []
    problems = [f"{d['field']}: {d['message']}" for d in error.details if isinstance(d, dict)]
    return problems or [error.message]


def _page(
    request: Request,
    login: AgentLogin,
    runtime: RuntimeDep,
    *,
    editing: int | None = None,
    policy_form: dict[str, Any] | None = None,
    policy_error: FrontdeskError | None = None,
    hours_form: dict[str, Any] | None = None,
    hours_error: FrontdeskError | None = None,
) -> Response:
    now = utcnow()
    with runtime.db.read() as session:
        workspace = _workspace(session, login)
        teams = {
            t.id: t
            for t in session.scalars(
                select(Team).where(Team.workspace_id == login.workspace_id).order_by(Team.name)
            )
        }
        policies = [_describe(p, teams) for p in list_policies(session, login.workspace_id)]
        if editing is not None and policy_form is None:
            policy_form = _policy_shown(access_policy(session, login.workspace_id, editing))
        hours = load_business_hours(workspace)
        configured = has_business_hours(workspace)
        shown_hours = hours_form or _hours_shown(workspace)
    error = policy_error or hours_error
    notice = {"saved": "Saved.", "hours": "Business hours saved.", "cleared": "Open 24/7."}.get(
        request.query_params.get("done", ""), None
    )
    context: dict[str, Any] = {
        "section": "sla",
        "policies": policies,
        "teams": list(teams.values()),
        "priorities": PRIORITIES,
        "editing": editing,
        "p": policy_form or _policy_shown(None),
        "policy_errors": _errors(policy_error),
        "hours_errors": _errors(hours_error),
        "h": shown_hours,
        "days": list(zip(DAY_NAMES, DAY_LABELS, strict=True)),
        "zones": zone_names(),
        "configured": configured,
        "open_now": hours.is_open(now),
        "next_opening": hours.next_opening(now),
        "notice": notice,
    }
    return render(
        request,
        "agent/admin/sla.html",
        context,
        login=login,
        status_code=error.status if error else 200,
    )


@router.get("/admin/sla")
def sla_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    return _page(request, login, runtime)


@router.post("/admin/sla/policies")
def create_policy_form(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    values, shown = _policy_values(form)
    try:
        with runtime.db.write() as session:
            do_create_policy(session, login.workspace_id, values)
    except FrontdeskError as exc:
        return _page(request, login, runtime, policy_form=shown, policy_error=exc)
    return redirect("/admin/sla?done=saved")


@router.post("/admin/sla/hours")
def save_hours_form(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    try:
        data, shown = _hours_values(form)
    except _HoursFormError as exc:
        return _page(request, login, runtime, hours_form=exc.shown, hours_error=exc.error)
    try:
        with runtime.db.write() as session:
            save_business_hours(session, _workspace(session, login), data)
    except FrontdeskError as exc:
        return _page(request, login, runtime, hours_form=shown, hours_error=exc)
    return redirect("/admin/sla?done=hours#business-hours")


@router.post("/admin/sla/hours/clear")
def clear_hours_form(login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as session:
        clear_business_hours(session, _workspace(session, login))
    return redirect("/admin/sla?done=cleared#business-hours")


@router.get("/admin/sla/policies/{policy_id:int}")
def edit_policy_page(
    policy_id: PageId, request: Request, login: PageLogin, runtime: RuntimeDep
) -> Response:
    return _page(request, login, runtime, editing=policy_id)


@router.post("/admin/sla/policies/{policy_id:int}")
def save_policy_form(
    policy_id: PageId, request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.read() as session:
        access_policy(session, login.workspace_id, policy_id)  # another workspace's: 404
    values, shown = _policy_values(form)
    try:
        with runtime.db.write() as session:
            do_update_policy(session, access_policy(session, login.workspace_id, policy_id), values)
    except FrontdeskError as exc:
        return _page(
            request, login, runtime, editing=policy_id, policy_form=shown, policy_error=exc
        )
    return redirect("/admin/sla?done=saved")


@router.post("/admin/sla/policies/{policy_id:int}/toggle")
def toggle_policy_form(
    policy_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        policy = access_policy(session, login.workspace_id, policy_id)
        do_update_policy(session, policy, {"enabled": not policy.enabled})
    return redirect("/admin/sla")


@router.post("/admin/sla/policies/{policy_id:int}/move")
def move_policy_form(
    policy_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    direction = text_field(form, "direction", max_len=8)
    if direction not in ("up", "down"):
        raise InvalidInput("Move a policy up or down.")
    with runtime.db.write() as session:
        policy = access_policy(session, login.workspace_id, policy_id)
        do_move_policy(session, policy, -1 if direction == "up" else 1)
    return redirect("/admin/sla")


@router.post("/admin/sla/policies/{policy_id:int}/delete")
def delete_policy_form(
    policy_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        do_delete_policy(session, access_policy(session, login.workspace_id, policy_id))
    return redirect("/admin/sla")

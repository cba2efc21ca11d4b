"""Macro pages (F26) and the reply box's macro search.

* ``/macros``: the shared macros (admins change them) and the agent's own personal ones, with
  their actions and uses; ``/macros/new``, ``/macros/{id}`` (edit), ``…/delete``.
* ``GET /inbox/c/{id}/macros?q=``: JSON for the reply box's picker: the macros the agent may
  use that match what is typed, each rendered for this conversation (its language variant,
  the customer's first name…), with its actions in words. Sending the reply with the picked
  ``macro_id`` applies the actions (:func:`frontdesk.web.agent.views.reply`).

A body that does not check (a syntax error, an unknown variable, anything beyond variables,
a few filters and ``{% if %}``) is shown again with the line to fix; nothing is saved.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from frontdesk.automation.macros import (
    ACTION_STATUSES,
    FILTERS,
    MAX_BODY_CHARS,
    VARIABLES,
    access_macro,
    check_can_edit,
    describe_actions,
    do_create_macro,
    do_delete_macro,
    do_update_macro,
    list_macros,
    render_macro,
    search_macros,
    team_names,
)
from frontdesk.conversations.actions import access_conversation
from frontdesk.domain.conversation import PRIORITIES
from frontdesk.errors import Forbidden, FrontdeskError, InvalidInput, Unauthorized
from frontdesk.language.detect import SUPPORTED
from frontdesk.store.models import Agent, Macro, Team
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

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)

ADMIN_LAYOUT = "agent/admin/_layout.html"
AGENT_LAYOUT = "agent/admin/macros_layout.html"
LANGUAGE_NAMES = {
    "en": "English",
    "th": "ไทย (Thai)",
    "el": "Ελληνικά (Greek)",
    "zh": "中文 (Chinese)",
    "id": "Bahasa Indonesia",
    "es": "Español (Spanish)",
    "de": "Deutsch (German)",
}
SEARCH_LIMIT = 8


def _agent(session: Session, login: AgentLogin) -> Agent:
    agent = session.get(Agent, login.agent.id)
    if agent is None:
        raise Unauthorized("Log in first.")
    return agent


def _layout(login: AgentLogin) -> str:
    return ADMIN_LAYOUT if login.is_admin else AGENT_LAYOUT


def _base_context(login: AgentLogin) -> dict[str, Any]:
    return {
        "layout": _layout(login),
        "section": "macros",
        "variables": [
            f"{root}.{name}" + (".plan" if name == "attributes" else "")
            for root, names in VARIABLES.items()
            for name in names
        ],
        "filters": [f for f in FILTERS if f != "d"],
    }


# The list -----------------------------------------------------------------------------------


@router.get("/macros")
def macros_page(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        macros = list_macros(session, login.workspace_id, visible_to=login.agent.id)
        teams = team_names(session, login.workspace_id)
        rows = [
            {
                "macro": m,
                "actions": describe_actions(m.actions or {}, teams),
                "languages": [m.language, *sorted((m.variants or {}).keys())],
                "editable": m.owner_id == login.agent.id or (m.owner_id is None and login.is_admin),
            }
            for m in sorted(macros, key=lambda m: (m.owner_id is not None, m.name.lower()))
        ]
    context = {**_base_context(login), "rows": rows, "saved": request.query_params.get("saved")}
    return render(request, "agent/admin/macros.html", context, login=login)


# The form -----------------------------------------------------------------------------------


def _form_values(macro: Macro | None, scope: str) -> dict[str, Any]:
    if macro is None:
        return {
            "name": "",
            "body": "",
            "language": "en",
            "variants": {},
            "tags": "",
            "status": "",
            "priority": "",
            "team": "",
            "scope": scope,
        }
    actions = macro.actions or {}
    return {
        "name": macro.name,
        "body": macro.body,
        "language": macro.language,
        "variants": dict(macro.variants or {}),
        "tags": ", ".join(actions.get("tags") or []),
        "status": actions.get("status") or "",
        "priority": actions.get("priority") or "",
        "team": str(actions.get("team") or ""),
        "scope": "shared" if macro.owner_id is None else "personal",
    }


def _edit_page(
    request: Request,
    login: AgentLogin,
    session: Session,
    *,
    macro_id: int | None,
    values: dict[str, Any],
    error: FrontdeskError | None = None,
    status_code: int = 200,
) -> Response:
    teams = session.scalars(
        select(Team).where(Team.workspace_id == login.workspace_id).order_by(Team.name)
    ).all()
    context = {
        **_base_context(login),
        "macro_id": macro_id,
        "v": values,
        "teams": teams,
        "statuses": ACTION_STATUSES,
        "priorities": PRIORITIES,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED],
        "can_share": login.is_admin,
        "error": error.message if error else None,
        "problems": error.details if error else [],
        "max_body": MAX_BODY_CHARS,
    }
    return render(
        request, "agent/admin/macros_edit.html", context, login=login, status_code=status_code
    )


@router.get("/macros/new")
def new_macro(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    scope = (
        "shared"
        if login.is_admin and request.query_params.get("scope") != "personal"
        else ("personal")
    )
    with runtime.db.read() as session:
        return _edit_page(request, login, session, macro_id=None, values=_form_values(None, scope))


@router.get("/macros/{macro_id:int}")
def edit_macro(
    request: Request, macro_id: PageId, login: PageLogin, runtime: RuntimeDep
) -> Response:
    with runtime.db.read() as session:
        macro = access_macro(session, login.workspace_id, macro_id, agent_id=login.agent.id)
        check_can_edit(macro, _agent(session, login))
        return _edit_page(
            request, login, session, macro_id=macro.id, values=_form_values(macro, "personal")
        )


def _read_form(form: FormData) -> dict[str, Any]:
    """The form's fields as typed (for showing them again) — checked by the macro actions."""
    variants = {}
    for code in SUPPORTED:
        text = text_field(form, f"variant-{code}", max_len=MAX_BODY_CHARS + 1000)
        if text.strip():
            variants[code] = text
    return {
        "name": text_field(form, "name", max_len=1000),
        "body": text_field(form, "body", max_len=MAX_BODY_CHARS + 1000),
        "language": text_field(form, "language", max_len=20).strip() or "en",
        "variants": variants,
        "tags": text_field(form, "tags", max_len=2000),
        "status": text_field(form, "status", max_len=20).strip(),
        "priority": text_field(form, "priority", max_len=20).strip(),
        "team": text_field(form, "team", max_len=30).strip(),
        "scope": text_field(form, "scope", max_len=20).strip() or "personal",
    }


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    actions: dict[str, Any] = {}
    tags = [t for t in values["tags"].split(",") if t.strip()]
    if tags:
        actions["tags"] = tags
    if values["status"]:
        actions["status"] = values["status"]
    if values["priority"]:
        actions["priority"] = values["priority"]
    if values["team"]:
        if not values["team"].isdigit():
            raise InvalidInput("Pick a team from the list.")
        actions["team"] = int(values["team"])
    variants = {k: v for k, v in values["variants"].items() if k != values["language"]}
    return {
        "name": values["name"],
        "body": values["body"],
        "language": values["language"],
        "variants": variants,
        "actions": actions,
    }


def _owner(login: AgentLogin, scope: str) -> int | None:
    if scope == "shared":
        if not login.is_admin:
            raise Forbidden("Only admins can create shared macros.")
        return None
    return login.agent.id


@router.post("/macros")
def create_macro(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    values = _read_form(form)
    try:
        with runtime.db.write() as session:
            changes = _changes(values)
            do_create_macro(
                session, login.workspace_id, owner_id=_owner(login, values["scope"]), **changes
            )
    except FrontdeskError as exc:
        if exc.status in (401, 403):
            raise
        with runtime.db.read() as session:
            return _edit_page(
                request, login, session, macro_id=None, values=values, error=exc, status_code=422
            )
    return redirect("/macros?saved=1")


@router.post("/macros/{macro_id:int}")
def update_macro(
    request: Request, macro_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    values = _read_form(form)
    try:
        with runtime.db.write() as session:
            macro = access_macro(session, login.workspace_id, macro_id, agent_id=login.agent.id)
            agent = _agent(session, login)
            check_can_edit(macro, agent)
            changes = _changes(values)
            if values["scope"] in ("shared", "personal"):
                owner = _owner(login, values["scope"])
                if owner != macro.owner_id:
                    changes["owner_id"] = owner
            do_update_macro(session, macro, changes)
    except FrontdeskError as exc:
        if exc.status in (401, 403, 404):
            raise
        with runtime.db.read() as session:
            return _edit_page(
                request,
                login,
                session,
                macro_id=macro_id,
                values=values,
                error=exc,
                status_code=422,
            )
    return redirect("/macros?saved=1")


@router.post("/macros/{macro_id:int}/delete")
def delete_macro(
    request: Request, macro_id: PageId, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    with runtime.db.write() as session:
        macro = access_macro(session, login.workspace_id, macro_id, agent_id=login.agent.id)
        check_can_edit(macro, _agent(session, login))
        do_delete_macro(session, macro)
    return redirect("/macros")


@router.get("/admin/macros")
def admin_macros(login: PageLogin) -> Response:
    return redirect("/macros")


# The reply box ------------------------------------------------------------------------------


@router.get("/inbox/c/{conversation_id}/macros")
def search_for_reply(
    request: Request, conversation_id: PageId, login: PageLogin, runtime: RuntimeDep
) -> Response:
    query = request.query_params.get("q", "")
    if len(query) > 200:
        raise InvalidInput("q is longer than 200 characters.")
    items = []
    with runtime.db.read() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        agent = _agent(session, login)
        teams = team_names(session, login.workspace_id)
        for macro in search_macros(
            session, login.workspace_id, agent.id, query, limit=SEARCH_LIMIT
        ):
            item: dict[str, Any] = {
                "id": macro.id,
                "name": macro.name,
                "shared": macro.owner_id is None,
                "actions": describe_actions(macro.actions or {}, teams),
                "has_actions": bool(macro.actions),
            }
            try:
                rendered = render_macro(session, macro, conversation, agent)
                item.update({"text": rendered.text, "language": rendered.language})
            except InvalidInput as exc:
                item.update({"text": "", "language": macro.language, "error": exc.message})
            items.append(item)
    response = JSONResponse({"macros": items})
    response.headers["Cache-Control"] = "no-store"
    return response

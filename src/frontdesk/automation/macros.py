"""Macros (F26): canned replies with variables and actions, shared or personal.

A macro's body is a small template: ``Hi {{ customer.first_name | default("there") }}``. What
it may use is fixed (:data:`VARIABLES`), checked when the macro is saved, and rendered by a
:class:`jinja2.sandbox.SandboxedEnvironment` that only reads keys of plain dictionaries
(RELIABILITY row 14):

* values are data, never templates: a customer called ``{{ 7*7 }}`` is greeted as
  ``{{ 7*7 }}``, and nothing a customer, an article or an agent wrote is ever evaluated;
* the template itself can only print the variables, filter them with a few text filters and
  test them in ``{% if %}``: no calls, loops, arithmetic or attributes of Python objects, so
  ``{{ ''.__class__ }}`` is refused when saved (422 with the line) and, should such a body
  reach the renderer anyway, rendering fails with a clear error instead of escaping.

Actions (``tags`` to add, ``status``, ``team``, ``priority``) are applied through the
conversation actions (:mod:`frontdesk.conversations.actions`) in the same transaction as the
reply. A shared macro (``owner_id`` None) is managed by admins and seen by every agent; a
personal one only by its owner. Localised variants (``variants``: language → body) are picked
by the conversation's (else the customer's) language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from jinja2 import Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from frontdesk.conversations.actions import (
    do_assign,
    do_change_priority,
    do_change_status,
    do_send_agent_reply,
    do_set_tags,
)
from frontdesk.conversations.events import Actor, append_event
from frontdesk.domain.conversation import PRIORITIES, clean_text
from frontdesk.errors import Forbidden, InvalidInput, NotFound
from frontdesk.language.tokenize import fold
from frontdesk.routing.assignment import assign_in_team
from frontdesk.store.models import (
    Agent,
    Conversation,
    Macro,
    Message,
    Team,
    TeamMember,
    Workspace,
    utcnow,
)

__all__ = [
    "ACTION_STATUSES",
    "MAX_BODY_CHARS",
    "VARIABLES",
    "AppliedMacro",
    "Rendered",
    "access_macro",
    "apply_macro",
    "check_template",
    "do_create_macro",
    "do_delete_macro",
    "do_update_macro",
    "list_macros",
    "macro_language",
    "macro_values",
    "render_macro",
    "render_text",
    "search_macros",
]

MAX_BODY_CHARS: Final = 10_000
MAX_NAME_CHARS: Final = 200
MAX_VARIANTS: Final = 20
MAX_TAGS: Final = 30
# Statuses a macro may set: snoozing needs a time, which a canned reply cannot know.
ACTION_STATUSES: Final = ("open", "pending", "resolved", "closed")
ACTION_KEYS: Final = ("tags", "status", "team", "priority")
LANGUAGE: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
ATTRIBUTE_KEY: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# What a macro can print, as written in a body. customer.attributes.<key> is any attribute.
VARIABLES: Final[dict[str, tuple[str, ...]]] = {
    "customer": ("first_name", "name", "email", "attributes"),
    "agent": ("first_name", "name"),
    "conversation": ("id", "subject"),
    "workspace": ("name",),
}
VARIABLE_LIST: Final = ", ".join(
    f"{root}.{name}" + (".<key>" if name == "attributes" else "")
    for root, names in VARIABLES.items()
    for name in names
)
FILTERS: Final = ("default", "d", "lower", "upper", "title", "capitalize", "trim", "truncate")
TESTS: Final = ("defined", "undefined", "none", "eq", "ne", "equalto", "string", "number")
# The template syntax a macro may use. Anything else (calls, loops, arithmetic, macros,
# assignments, includes, filter blocks, list literals) is refused when the macro is saved.
_ALLOWED_NODES: Final = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.Keyword,
)


_REFUSED: Final = {
    "Call": "calling functions",
    "For": "{% for %}",
    "Assign": "{% set %}",
    "AssignBlock": "{% set %}",
    "Macro": "{% macro %}",
    "CallBlock": "{% call %}",
    "FilterBlock": "{% filter %}",
    "With": "{% with %}",
    "Include": "{% include %}",
    "Import": "{% import %}",
    "FromImport": "{% import %}",
    "Extends": "{% extends %}",
    "Block": "{% block %}",
    "List": "a list",
    "Tuple": "a tuple",
    "Dict": "a dict",
    "Slice": "slicing",
}


# The sandbox --------------------------------------------------------------------------------


class _MacroEnvironment(SandboxedEnvironment):
    """Reads keys of dictionaries and nothing else: no attribute or method of any object."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._lookup(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._lookup(obj, argument)

    def _lookup(self, obj: Any, key: Any) -> Any:
        if isinstance(key, str) and key.startswith("_"):
            raise SecurityError(f"{key!r} cannot be used in a macro")
        if isinstance(obj, dict) and isinstance(key, str) and key in obj:
            return obj[key]
        return self.undefined(obj=obj, name=key if isinstance(key, str) else None)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"arithmetic ({operator}) cannot be used in a macro")

    def call_unop(self, context: Context, operator: str, arg: Any) -> Any:
        raise SecurityError(f"arithmetic ({operator}) cannot be used in a macro")

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # Filters are not calls; a call is something only a crafted body could contain.
        raise SecurityError("calling functions cannot be used in a macro")


def _finalize(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if value is None:
        return ""
    return value


def _environment() -> _MacroEnvironment:
    env = _MacroEnvironment(
        autoescape=False,  # a reply is plain text; the inbox and the widget show it as text
        undefined=Undefined,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


_ENV: Final = _environment()


# Checking a template ------------------------------------------------------------------------


def _problem(field_name: str, line: int | None, message: str) -> InvalidInput:
    where = f"line {line}: " if line else ""
    return InvalidInput(
        f"{field_name}: {where}{message}",
        details=[{"field": field_name, "line": line, "message": message}],
    )


def _path(node: nodes.Node) -> tuple[list[str], nodes.Node]:
    """The names of an attribute chain (``customer.attributes["plan"]`` → customer,
    attributes, plan) and the node it starts from."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        else:
            arg = node.arg
            if not isinstance(arg, nodes.Const) or not isinstance(arg.value, str):
                parts.append("[…]")
            else:
                parts.append(arg.value)
        node = node.node
    if isinstance(node, nodes.Name):
        parts.append(node.name)
    parts.reverse()
    return parts, node


def _check_variable(node: nodes.Node, field_name: str) -> None:
    parts, start = _path(node)
    line = node.lineno
    if not isinstance(start, nodes.Name):
        raise _problem(
            field_name,
            line,
            f"only variables can be printed (one of {VARIABLE_LIST}); "
            "attributes of other values are not allowed.",
        )
    dotted = ".".join(parts)
    root = parts[0]
    if root not in VARIABLES:
        raise _problem(field_name, line, f"unknown variable {dotted}; use one of {VARIABLE_LIST}.")
    if len(parts) == 1:
        choices = ", ".join(f"{root}.{n}" for n in VARIABLES[root])
        raise _problem(field_name, line, f"{root} alone cannot be printed; use {choices}.")
    name = parts[1]
    if name not in VARIABLES[root]:
        raise _problem(field_name, line, f"unknown variable {dotted}; use one of {VARIABLE_LIST}.")
    if name == "attributes":
        if len(parts) != 3 or not ATTRIBUTE_KEY.match(parts[2]):
            raise _problem(
                field_name,
                line,
                f"{dotted}: name one customer attribute, e.g. customer.attributes.plan.",
            )
    elif len(parts) > 2:
        raise _problem(field_name, line, f"unknown variable {dotted}; use {root}.{name}.")


def _check_arguments(node: nodes.Filter | nodes.Test, field_name: str, what: str) -> None:
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise _problem(field_name, node.lineno, f"{what} {node.name}: spread arguments.")
    for arg in [*node.args, *(k.value for k in node.kwargs)]:
        if isinstance(arg, nodes.Getattr | nodes.Getitem | nodes.Name):
            _check_variable(arg, field_name)  # default(customer.name)
        elif not isinstance(arg, nodes.Const):
            raise _problem(
                field_name,
                node.lineno,
                f"{what} {node.name}: its arguments must be text, numbers or variables, e.g. "
                '"there".',
            )


def _walk(node: nodes.Node, field_name: str) -> None:
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
        if isinstance(node, nodes.Name) and node.ctx != "load":
            raise _problem(field_name, node.lineno, "assignments are not allowed in macros.")
        _check_variable(node, field_name)
        return
    if isinstance(node, nodes.Filter):
        if node.node is None:
            raise _problem(field_name, node.lineno, "filter blocks are not allowed in macros.")
        if node.name not in FILTERS:
            raise _problem(
                field_name,
                node.lineno,
                f"unknown filter {node.name}; use one of {', '.join(FILTERS)}.",
            )
        _check_arguments(node, field_name, "filter")
        _walk(node.node, field_name)
        return
    if isinstance(node, nodes.Test):
        if node.name not in TESTS:
            raise _problem(
                field_name, node.lineno, f"unknown test {node.name}; use one of {', '.join(TESTS)}."
            )
        _check_arguments(node, field_name, "test")
        _walk(node.node, field_name)
        return
    if isinstance(node, nodes.Const):
        return
    if not isinstance(node, _ALLOWED_NODES):
        label = _REFUSED.get(type(node).__name__, type(node).__name__.lower())
        if isinstance(node, nodes.BinExpr | nodes.UnaryExpr) and not isinstance(node, nodes.Not):
            label = "arithmetic"
        raise _problem(
            field_name,
            node.lineno,
            f"{label} is not allowed in macros: only variables, the filters "
            f"{', '.join(FILTERS)} and {{% if %}} can be used.",
        )
    for child in node.iter_child_nodes():
        _walk(child, field_name)


def check_template(text: str, field_name: str = "body") -> None:
    """Raise InvalidInput (with the line) unless ``text`` is a body a macro may have."""
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise _problem(field_name, exc.lineno, exc.message or "syntax error") from None
    _walk(tree, field_name)


# Rendering ----------------------------------------------------------------------------------


def _first_name(name: str | None) -> str | None:
    parts = (name or "").split()
    return parts[0] if parts else None


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """Empty values are left out, so ``default(...)`` applies to them."""
    return {k: v for k, v in values.items() if v is not None and v != "" and v != []}


def macro_values(
    conversation: Conversation, agent: Agent | None, workspace: Workspace | None
) -> dict[str, Any]:
    """The variables of a body, as plain dictionaries of plain values."""
    customer = conversation.customer
    attributes = {
        str(k): v
        for k, v in (customer.attributes or {}).items()
        if isinstance(v, str | int | float | bool | list)
    }
    first = attributes.get("first_name")
    return {
        "customer": _present(
            {
                "first_name": first
                if isinstance(first, str) and first
                else _first_name(customer.name),
                "name": customer.name,
                "email": customer.email,
                "attributes": attributes,
            }
        ),
        "agent": _present(
            {
                "first_name": _first_name(agent.name) if agent else None,
                "name": agent.name if agent else None,
            }
        ),
        "conversation": _present({"id": conversation.id, "subject": conversation.subject}),
        "workspace": _present({"name": workspace.name if workspace else None}),
    }


@lru_cache(maxsize=512)
def _compiled(text: str) -> Template:
    return _ENV.from_string(text)


def render_text(
    text: str, values: Mapping[str, Any], *, field_name: str = "body", check: bool = True
) -> str:
    """Render a body. ``check=False`` skips the save-time check (the sandbox still holds)."""
    if check:
        check_template(text, field_name)
    try:
        return _compiled(text).render(dict(values))
    except SecurityError as exc:
        raise _problem(field_name, None, f"this macro uses something not allowed: {exc}") from None
    except TemplateError as exc:
        raise _problem(field_name, getattr(exc, "lineno", None), str(exc)) from None


def _primary(language: str | None) -> str | None:
    if not language:
        return None
    return language.strip().lower().replace("_", "-").split("-", 1)[0] or None


def macro_language(conversation: Conversation, workspace: Workspace | None) -> str:
    """The language a macro answers this conversation in: the conversation's, else the
    customer's, else the workspace's default."""
    return (
        _primary(conversation.language)
        or _primary(conversation.customer.language)
        or _primary(workspace.default_language if workspace else None)
        or "en"
    )


def pick_body(macro: Macro, language: str) -> tuple[str, str]:
    """``(body, language)``: the variant in ``language`` if there is one, else the base body."""
    variants = macro.variants or {}
    wanted = _primary(language) or ""
    for code, text in variants.items():
        if _primary(code) == wanted and isinstance(text, str) and text.strip():
            return text, code
    return macro.body, macro.language


@dataclass(frozen=True)
class Rendered:
    macro_id: int
    text: str
    language: str


def render_macro(
    session: Session, macro: Macro, conversation: Conversation, agent: Agent | None
) -> Rendered:
    workspace = session.get(Workspace, conversation.workspace_id)
    body, language = pick_body(macro, macro_language(conversation, workspace))
    values = macro_values(conversation, agent, workspace)
    return Rendered(macro.id, render_text(body, values).strip(), language)


# Validation of what is saved ----------------------------------------------------------------


def _team(session: Session, workspace_id: int, ref: object) -> Team:
    team: Team | None = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        team = session.get(Team, ref)
    elif isinstance(ref, str) and ref.strip():
        team = session.scalar(
            select(Team).where(Team.workspace_id == workspace_id, Team.slug == ref.strip())
        )
    if team is None or team.workspace_id != workspace_id:
        raise NotFound(
            f"Team {ref!r} was not found.",
            details=[{"field": "actions.team", "message": "no such team"}],
        )
    return team


def clean_actions(
    session: Session, workspace_id: int, actions: Mapping[str, Any]
) -> dict[str, Any]:
    """The actions as stored: tags lowercased and deduplicated, the team as its id."""
    if not isinstance(actions, Mapping):
        raise InvalidInput("actions must be an object.")
    unknown = sorted(set(actions) - set(ACTION_KEYS))
    if unknown:
        raise InvalidInput(
            f"Unknown macro action {unknown[0]!r}; use {', '.join(ACTION_KEYS)}.",
            details=[{"field": f"actions.{unknown[0]}", "message": "unknown action"}],
        )
    out: dict[str, Any] = {}
    tags = actions.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InvalidInput("actions.tags must be a list of tags.")
        clean = sorted({t.strip().lower() for t in tags if t.strip()})
        if len(clean) > MAX_TAGS or any(len(t) > 50 for t in clean):
            raise InvalidInput(f"actions.tags: at most {MAX_TAGS} tags of at most 50 characters.")
        if clean:
            out["tags"] = clean
    status = actions.get("status")
    if status is not None:
        if status not in ACTION_STATUSES:
            raise InvalidInput(
                f"actions.status: use one of {', '.join(ACTION_STATUSES)} (snoozing needs a "
                "time, which a macro cannot know).",
                details=[{"field": "actions.status", "message": "unknown status"}],
            )
        out["status"] = status
    priority = actions.get("priority")
    if priority is not None:
        if priority not in PRIORITIES:
            raise InvalidInput(
                f"actions.priority: use one of {', '.join(PRIORITIES)}.",
                details=[{"field": "actions.priority", "message": "unknown priority"}],
            )
        out["priority"] = priority
    if actions.get("team") is not None:
        out["team"] = _team(session, workspace_id, actions["team"]).id
    return out


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A macro needs a name.", details=[{"field": "name", "message": "empty"}])
    name = " ".join(name.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"name: at most {MAX_NAME_CHARS} characters.")
    return name


def _clean_body(text: object, field_name: str) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{field_name} must be text.")
    if "\x00" in text:
        raise InvalidInput(f"{field_name} contains a NUL character.")
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_BODY_CHARS:
        raise InvalidInput(
            f"{field_name} is too long: {len(text)} characters, the limit is {MAX_BODY_CHARS}."
        )
    if text:
        check_template(text, field_name)
    return text


def _clean_language(code: object, field_name: str = "language") -> str:
    if not isinstance(code, str) or not LANGUAGE.match(code.strip()):
        raise InvalidInput(
            f"{field_name}: a language code such as en, th or de.",
            details=[{"field": field_name, "message": "not a language code"}],
        )
    return code.strip()


def _clean_variants(variants: object) -> dict[str, str]:
    if not isinstance(variants, Mapping):
        raise InvalidInput("variants must be an object of language: body.")
    if len(variants) > MAX_VARIANTS:
        raise InvalidInput(f"variants: at most {MAX_VARIANTS} languages.")
    out: dict[str, str] = {}
    for code, text in variants.items():
        language = _clean_language(code, f"variants.{code}")
        body = _clean_body(text, f"variants.{language}")
        if not body:
            continue  # an empty translation is no translation
        out[language] = body
    return out


def _check_content(body: str, actions: Mapping[str, Any]) -> None:
    if not body and not actions:
        raise InvalidInput(
            "A macro needs a body or at least one action.",
            details=[{"field": "body", "message": "empty"}],
        )


# Reading and changing macros ----------------------------------------------------------------


def _visible_to(agent_id: int) -> Any:
    return or_(Macro.owner_id.is_(None), Macro.owner_id == agent_id)


def access_macro(
    session: Session, workspace_id: int, macro_id: int, *, agent_id: int | None = None
) -> Macro:
    """The macro, or NotFound if it is another workspace's or, with ``agent_id``, another
    agent's personal macro."""
    macro = session.get(Macro, macro_id)
    if (
        macro is None
        or macro.workspace_id != workspace_id
        or (agent_id is not None and macro.owner_id not in (None, agent_id))
    ):
        raise NotFound(f"Macro {macro_id} was not found.")
    return macro


def check_can_edit(macro: Macro, agent: Agent) -> None:
    """Shared macros are the admins'; a personal macro is its owner's."""
    if macro.owner_id is None:
        if agent.role != "admin":
            raise Forbidden("Only admins can change shared macros.")
    elif macro.owner_id != agent.id:
        raise NotFound(f"Macro {macro.id} was not found.")


def list_macros(
    session: Session,
    workspace_id: int,
    *,
    visible_to: int | None = None,
    scope: str = "all",
    owner_id: int | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[Macro]:
    """Macros by id. ``visible_to``: shared ones and that agent's own. ``scope``: all, shared
    or personal; ``owner_id``: one agent's personal macros."""
    query = select(Macro).where(Macro.workspace_id == workspace_id)
    if visible_to is not None:
        query = query.where(_visible_to(visible_to))
    if scope == "shared":
        query = query.where(Macro.owner_id.is_(None))
    elif scope == "personal":
        query = query.where(Macro.owner_id.is_not(None))
    if owner_id is not None:
        query = query.where(Macro.owner_id == owner_id)
    if after_id is not None:
        query = query.where(Macro.id > after_id)
    query = query.order_by(Macro.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _check_owner(session: Session, workspace_id: int, owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = session.get(Agent, owner_id)
    if owner is None or owner.workspace_id != workspace_id:
        raise NotFound(
            f"Agent {owner_id} was not found.",
            details=[{"field": "owner_id", "message": "no such agent"}],
        )


def do_create_macro(
    session: Session,
    workspace_id: int,
    *,
    name: str,
    body: str = "",
    language: str = "en",
    variants: Mapping[str, str] | None = None,
    actions: Mapping[str, Any] | None = None,
    owner_id: int | None = None,
) -> Macro:
    _check_owner(session, workspace_id, owner_id)
    clean_language = _clean_language(language)
    clean_body = _clean_body(body, "body")
    clean = clean_actions(session, workspace_id, actions or {})
    _check_content(clean_body, clean)
    now = utcnow()
    macro = Macro(
        workspace_id=workspace_id,
        owner_id=owner_id,
        name=_clean_name(name),
        body=clean_body,
        language=clean_language,
        variants=_clean_variants(variants or {}),
        actions=clean,
        uses=0,
        created_at=now,
        updated_at=now,
    )
    _index(macro)
    session.add(macro)
    session.flush()
    return macro


def do_update_macro(session: Session, macro: Macro, changes: Mapping[str, Any]) -> Macro:
    """Change the fields in ``changes`` (name, body, language, variants, actions, owner_id);
    the others stay. The result is checked as a whole, as when it is created."""
    unknown = set(changes) - {"name", "body", "language", "variants", "actions", "owner_id"}
    if unknown:
        raise InvalidInput(f"Unknown macro field {sorted(unknown)[0]!r}.")
    name = _clean_name(changes["name"]) if "name" in changes else macro.name
    language = _clean_language(changes.get("language", macro.language))
    body = _clean_body(changes["body"], "body") if "body" in changes else macro.body
    variants = _clean_variants(changes.get("variants", macro.variants or {}))
    if "actions" in changes:
        actions = clean_actions(session, macro.workspace_id, changes["actions"] or {})
    else:
        actions = dict(macro.actions or {})
    _check_content(body, actions)
    if "owner_id" in changes:
        _check_owner(session, macro.workspace_id, changes["owner_id"])
        macro.owner_id = changes["owner_id"]
    macro.name, macro.language, macro.body = name, language, body
    macro.variants, macro.actions = variants, actions
    macro.updated_at = utcnow()
    _index(macro)
    session.flush()
    return macro


def do_delete_macro(session: Session, macro: Macro) -> None:
    session.delete(macro)
    session.flush()


def _fold(text: str) -> str:
    return " ".join(fold(text).split())


def _index(macro: Macro) -> None:
    """Keep the folded copies the search reads in step with the name and the bodies."""
    texts = [macro.name, macro.body, *(v for v in (macro.variants or {}).values())]
    macro.search_name = _fold(macro.name)[:MAX_NAME_CHARS]
    macro.search_text = "\n".join(_fold(t) for t in texts if isinstance(t, str) and t)


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_macros(
    session: Session, workspace_id: int, agent_id: int, query: str, *, limit: int = 10
) -> list[Macro]:
    """The macros an agent may use whose name or body (any language) contains every word of
    ``query`` (case and accents ignored): those whose name holds every word first (a name
    starting with the first word before the rest), then the others, the most used first. An
    empty query lists the most used. The database filters on the folded copies; only the
    matches are read."""
    words = _fold(query[:200]).split()[:10]
    base = (
        select(Macro)
        .where(Macro.workspace_id == workspace_id, _visible_to(agent_id))
        .order_by(Macro.uses.desc(), Macro.search_name, Macro.id)
    )
    if not words:
        return list(session.scalars(base.limit(limit)))
    in_name = base
    in_text = base
    for word in words:
        in_name = in_name.where(Macro.search_name.like(_like(word), escape="\\"))
        in_text = in_text.where(Macro.search_text.like(_like(word), escape="\\"))
    named = list(session.scalars(in_name.limit(limit)))
    named.sort(key=lambda m: not m.search_name.startswith(words[0]))  # stable: uses order stays
    found = named[:limit]
    if len(found) < limit:
        seen = [m.id for m in found]
        rest = in_text.where(Macro.id.not_in(seen)) if seen else in_text
        others = list(session.scalars(rest.limit(limit - len(found))))
        others.sort(key=lambda m: not any(w in m.search_name for w in words))
        found += others
    return found


# Applying a macro ---------------------------------------------------------------------------


@dataclass
class AppliedMacro:
    macro_id: int
    message: Message | None
    changes: dict[str, Any] = field(default_factory=dict)


def _apply_team(
    session: Session, conversation: Conversation, team_id: int, actor: Actor
) -> int | None:
    team = session.get(Team, team_id)
    if team is None or team.workspace_id != conversation.workspace_id:
        raise InvalidInput(
            "This macro moves conversations to a team that no longer exists; edit the macro."
        )
    if conversation.team_id == team.id:
        return None
    assignee = conversation.assignee_id
    if assignee is not None and session.get(TeamMember, (team.id, assignee)) is not None:
        do_assign(
            session,
            conversation,
            team_id=team.id,
            assignee_id=assignee,
            actor=actor,
            reason="macro",
        )
    else:
        # The assignee is not in that team: the team's assignment mode picks (or queues).
        assign_in_team(session, conversation, team, actor=actor, reason="macro")
    return team.id


def apply_macro(
    session: Session,
    conversation: Conversation,
    agent: Agent,
    macro: Macro,
    *,
    body: str | None = None,
    max_chars: int = MAX_BODY_CHARS,
    client_id: str | None = None,
) -> AppliedMacro:
    """Send the macro's reply as ``agent`` and apply its actions, in the caller's transaction.

    ``body`` is the text to send (the rendered macro, maybe edited by the agent); None renders
    the macro for this conversation; an empty text sends no reply (only the actions). Tags are
    added, then priority, team and last the status, so that a resolution (and the survey it
    triggers) sees the final team."""
    if macro.workspace_id != conversation.workspace_id or macro.owner_id not in (None, agent.id):
        raise NotFound(f"Macro {macro.id} was not found.")
    if not agent.is_active:
        raise Forbidden(f"Agent {agent.id} is deactivated.")
    text = render_macro(session, macro, conversation, agent).text if body is None else body
    actions = dict(macro.actions or {})
    message: Message | None = None
    if text.strip():
        text = clean_text(text, max_chars=max_chars, what="Reply")
        message = do_send_agent_reply(session, conversation, agent, body=text, client_id=client_id)
    elif not actions:
        raise InvalidInput("The reply is empty and this macro has no actions: nothing to do.")
    actor = Actor("agent", agent.id)
    changes: dict[str, Any] = {}
    tags = [t for t in actions.get("tags") or [] if isinstance(t, str)]
    if tags:
        before = set(conversation.tags or [])
        do_set_tags(session, conversation, [*before, *tags], actor=actor)
        added = sorted(set(conversation.tags or []) - before)
        if added:
            changes["tags"] = added
    priority = actions.get("priority")
    if isinstance(priority, str) and priority != conversation.priority:
        do_change_priority(session, conversation, priority, actor=actor, reason="macro")
        changes["priority"] = priority
    team_id = actions.get("team")
    if isinstance(team_id, int):
        moved = _apply_team(session, conversation, team_id, actor)
        if moved is not None:
            changes["team_id"] = moved
    status = actions.get("status")
    if isinstance(status, str) and status != conversation.status:
        do_change_status(session, conversation, status, actor=actor, reason="macro")
        changes["status"] = status
    session.execute(update(Macro).where(Macro.id == macro.id).values(uses=Macro.uses + 1))
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="macro_applied",
        actor=actor,
        data={
            "macro_id": macro.id,
            "name": macro.name,
            "message_id": message.id if message is not None else None,
            "changes": changes,
        },
    )
    return AppliedMacro(macro.id, message, changes)


def describe_actions(actions: Mapping[str, Any], teams: Mapping[int, str]) -> list[str]:
    """The actions in words, for the inbox and the admin pages."""
    out: list[str] = []
    if actions.get("tags"):
        out.append("add tags " + ", ".join(actions["tags"]))
    if actions.get("priority"):
        out.append(f"priority {actions['priority']}")
    if actions.get("team") is not None:
        out.append(f"team {teams.get(actions['team'], '(deleted team)')}")
    if actions.get("status"):
        out.append(f"status {actions['status']}")
    return out


def team_names(session: Session, workspace_id: int) -> dict[int, str]:
    rows = session.execute(select(Team.id, Team.name).where(Team.workspace_id == workspace_id))
    return {row.id: row.name for row in rows}

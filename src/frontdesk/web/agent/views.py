"""The inbox: views and filters, the conversation view, its fragments and its actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams
from starlette.responses import Response

from frontdesk.automation.macros import access_macro, apply_macro
from frontdesk.automation.sla import badge_for, clocks_of, sla_badges
from frontdesk.channels.email.outbound import message_deliveries, retry_failed
from frontdesk.conversations.actions import (
    access_conversation,
    do_add_note,
    do_assign,
    do_change_priority,
    do_change_status,
    do_send_agent_reply,
    do_set_tags,
)
from frontdesk.conversations.attention import workspace_has_bot
from frontdesk.conversations.events import Actor
from frontdesk.conversations.queries import (
    SORT_LABELS,
    SORTS,
    VIEW_LABELS,
    VIEWS,
    ConversationFilters,
    list_conversations,
    view_counts,
)
from frontdesk.domain.conversation import CHANNELS, PRIORITIES, STATUSES, clean_text
from frontdesk.errors import InvalidInput, NotFound, Unauthorized
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Message,
    OutboundEmail,
    Team,
    TeamMember,
    utcnow,
)
from frontdesk.web.agent.common import (
    HTMLRoute,
    PageId,
    PageLogin,
    SessionForm,
    is_fragment,
    optional_int,
    redirect,
    render,
    text_field,
)
from frontdesk.web.deps import RuntimeDep

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)


LANGUAGES = ("en", "th", "el", "zh", "id", "es", "de", "fr", "it", "pt", "ja", "ko")


@dataclass(frozen=True)
class ListState:
    """Which view and filters the list pane shows; kept in the query string."""

    view: str
    filters: ConversationFilters
    cursor: str | None
    sort: str = "recent"  # or "sla": time left first

    @classmethod
    def from_query(cls, query: Any) -> ListState:
        view = query.get("view") or "mine"
        if view not in VIEWS:
            raise InvalidInput(f"Unknown view {view!r}.")
        status = query.get("status", "open")
        filters = ConversationFilters(
            status=None if status in ("", "any") else status,
            priority=query.get("priority") or None,
            team_id=optional_int(dict(query), "team"),
            channel=query.get("channel") or None,
            language=query.get("language") or None,
        )
        cursor = query.get("cursor") or None
        if cursor is not None and len(cursor) > 200:
            raise InvalidInput("The cursor is invalid.")
        sort = query.get("sort") or "recent"
        if sort not in SORTS:
            raise InvalidInput(f"Unknown sort {sort!r}.")
        return cls(view, filters, cursor, sort)

    def params(self, **changes: Any) -> dict[str, str]:
        f = self.filters
        values: dict[str, Any] = {
            "view": self.view,
            "status": f.status or "any",
            "priority": f.priority or "",
            "team": f.team_id or "",
            "channel": f.channel or "",
            "language": f.language or "",
            "sort": "" if self.sort == "recent" else self.sort,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}

    def query(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))


def _directory(session: Session, workspace_id: int) -> tuple[dict[int, Agent], dict[int, Team]]:
    agents = session.scalars(
        select(Agent).where(Agent.workspace_id == workspace_id).order_by(Agent.name)
    ).all()
    teams = session.scalars(
        select(Team).where(Team.workspace_id == workspace_id).order_by(Team.name)
    ).all()
    return {a.id: a for a in agents}, {t.id: t for t in teams}


def _list_context(session: Session, login: PageLogin, state: ListState) -> dict[str, Any]:
    bot_on = workspace_has_bot(session, login.workspace_id)
    page = list_conversations(
        session,
        login.workspace_id,
        view=state.view,
        agent_id=login.agent.id,
        filters=state.filters,
        cursor=state.cursor,
        limit=50,
        sort=state.sort,
        bot_on=bot_on,
    )
    counts = view_counts(
        session, login.workspace_id, agent_id=login.agent.id, filters=state.filters, bot_on=bot_on
    )
    agents, teams = _directory(session, login.workspace_id)
    return {
        "state": state,
        "page": page,
        "counts": counts,
        "views": [(v, VIEW_LABELS[v]) for v in VIEWS],
        "agents": agents,
        "teams": teams,
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "channels": CHANNELS,
        "languages": LANGUAGES,
        "sorts": SORT_LABELS,
        "sla": sla_badges(session, [c.id for c in page.rows], utcnow()),
        # who sees an SLA alert (inbox.js): the conversation's team, or everyone when none
        "my_team_ids": sorted(
            session.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == login.agent.id))
        ),
    }


@router.get("/inbox")
def inbox(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    state = ListState.from_query(request.query_params)
    with runtime.db.read() as session:
        context = _list_context(session, login, state)
    return render(request, "agent/inbox.html", {**context, "conversation": None}, login=login)


@router.get("/inbox/fragment")
def inbox_fragment(request: Request, login: PageLogin, runtime: RuntimeDep) -> Response:
    state = ListState.from_query(request.query_params)
    with runtime.db.read() as session:
        context = _list_context(session, login, state)
    open_id = optional_int(dict(request.query_params), "open")
    return render(request, "agent/_panes.html", {**context, "open_id": open_id}, login=login)


def _conversation_context(
    session: Session, login: PageLogin, conversation: Conversation
) -> dict[str, Any]:
    customer = conversation.customer
    messages = session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
    ).all()
    past = session.scalars(
        select(Conversation)
        .where(Conversation.customer_id == customer.id, Conversation.id != conversation.id)
        .order_by(Conversation.last_message_at.desc())
        .limit(20)
    ).all()
    events = session.scalars(
        select(ConversationEvent)
        .where(ConversationEvent.conversation_id == conversation.id)
        .order_by(ConversationEvent.id.desc())
        .limit(50)
    ).all()
    members: dict[int, list[int]] = {}
    for team_id, agent_id in session.execute(
        select(TeamMember.team_id, TeamMember.agent_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.workspace_id == login.workspace_id)
    ):
        members.setdefault(team_id, []).append(agent_id)
    return {
        "conversation": conversation,
        "customer": customer,
        "messages": messages,
        "past": past,
        "events": events,
        "members": members,
        "last_seq": conversation.last_seq,
        # the email delivery of each message that went by email (sending/retrying/sent/failed)
        "deliveries": message_deliveries(session, conversation.id),
        "sla_badge": badge_for(clocks_of(session, conversation.id), utcnow()),
    }


def _page_context(
    runtime: RuntimeDep, login: PageLogin, state: ListState, conversation_id: int
) -> dict[str, Any]:
    """The inbox page with a conversation open: the list and the conversation."""
    with runtime.db.read() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        context = _list_context(session, login, state)
        context.update(_conversation_context(session, login, conversation))
    return context


@router.get("/inbox/c/{conversation_id}")
def conversation_page(
    request: Request, conversation_id: PageId, login: PageLogin, runtime: RuntimeDep
) -> Response:
    state = ListState.from_query(request.query_params)
    context = _page_context(runtime, login, state, conversation_id)
    return render(request, "agent/inbox.html", context, login=login)


@router.get("/inbox/c/{conversation_id}/messages")
def messages_fragment(
    request: Request, conversation_id: PageId, login: PageLogin, runtime: RuntimeDep
) -> Response:
    after = optional_int(dict(request.query_params), "after_seq") or 0
    with runtime.db.read() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        messages = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.seq > after)
            .order_by(Message.seq)
            .limit(500)
        ).all()
        agents, _ = _directory(session, login.workspace_id)
        deliveries = message_deliveries(session, conversation.id, [m.id for m in messages])
    return render(
        request,
        "agent/_messages.html",
        {
            "messages": messages,
            "agents": agents,
            "customer": conversation.customer,
            "deliveries": deliveries,
        },
        login=login,
    )


@router.get("/inbox/c/{conversation_id}/details")
def details_fragment(
    request: Request, conversation_id: PageId, login: PageLogin, runtime: RuntimeDep
) -> Response:
    state = ListState.from_query(request.query_params)
    with runtime.db.read() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        agents, teams = _directory(session, login.workspace_id)
        context = _conversation_context(session, login, conversation)
    context.update(
        {
            "agents": agents,
            "teams": teams,
            "state": state,
            "statuses": STATUSES,
            "priorities": PRIORITIES,
        }
    )
    return render(request, "agent/_details.html", context, login=login)


# Actions -------------------------------------------------------------------------------------


def _done(request: Request, conversation_id: int, form: FormData) -> Response:
    if is_fragment(request):
        return Response(status_code=204)
    back = form.get("back")
    query = back if isinstance(back, str) and back and "\n" not in back and len(back) < 500 else ""
    if query and not query.startswith("?"):
        query = ""
    return redirect(f"/inbox/c/{conversation_id}{query}")


def _agent(session: Session, login: PageLogin) -> Agent:
    agent = session.get(Agent, login.agent.id)
    if agent is None:
        raise Unauthorized("Log in first.")
    return agent


@router.post("/inbox/c/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    raw = text_field(form, "body", max_len=runtime.settings.max_message_chars + 1000)
    macro_id = optional_int(form, "macro_id")  # picked in the reply box: its actions apply too
    body = raw if macro_id is not None and not raw.strip() else None
    if body is None:
        body = clean_text(raw, max_chars=runtime.settings.max_message_chars)
    with runtime.db.write() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        agent = _agent(session, login)
        if macro_id is None:
            do_send_agent_reply(session, conversation, agent, body=body)
        else:
            macro = access_macro(session, login.workspace_id, macro_id, agent_id=agent.id)
            apply_macro(
                session,
                conversation,
                agent,
                macro,
                body=body,
                max_chars=runtime.settings.max_message_chars,
            )
    return _done(request, conversation_id, form)


@router.post("/inbox/c/{conversation_id}/emails/{email_id}/retry")
def retry_email(
    request: Request,
    conversation_id: PageId,
    email_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    """Send a failed email again (same Message-ID): the Retry button beside the message."""
    with runtime.db.write() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        email = session.get(OutboundEmail, email_id)
        if email is None or email.conversation_id != conversation.id:
            raise NotFound(f"Email {email_id} was not found.")
        retry_failed(session, email_id, login.workspace_id)
    return _done(request, conversation_id, form)


@router.post("/inbox/c/{conversation_id}/note")
def note(
    request: Request,
    conversation_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    body = clean_text(
        text_field(form, "body", max_len=runtime.settings.max_message_chars + 1000),
        max_chars=runtime.settings.max_message_chars,
        what="Note",
    )
    with runtime.db.write() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        do_add_note(session, conversation, _agent(session, login), body=body)
    return _done(request, conversation_id, form)


@router.post("/inbox/c/{conversation_id}/assign")
def assign(
    request: Request,
    conversation_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    team_id = optional_int(form, "team_id")
    assignee_id = optional_int(form, "assignee_id")
    with runtime.db.write() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        do_assign(
            session,
            conversation,
            team_id=team_id,
            assignee_id=assignee_id,
            actor=Actor("agent", login.agent.id),
        )
    return _done(request, conversation_id, form)


def _snooze_time(form: FormData) -> datetime:
    """The form's "Snooze until", in UTC: required, and in the future."""
    raw = text_field(form, "snoozed_until", max_len=40).strip()
    if not raw:
        raise InvalidInput("Snoozing needs a time: fill in Snooze until.")
    try:
        local = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput("Snooze until: give a date and time.") from exc
    until = local.astimezone(UTC) if local.tzinfo is not None else _from_browser(form, local)
    if until <= utcnow():
        raise InvalidInput("Snooze until must be in the future.")
    return until


def _from_browser(form: FormData, local: datetime) -> datetime:
    """A datetime-local value (no zone) in UTC: inbox.js sends the browser's offset
    (``tz_offset``, minutes, as JS gives it)."""
    offset_raw = text_field(form, "tz_offset", max_len=6).strip() or "0"
    try:
        offset = int(offset_raw)
    except ValueError as exc:
        raise InvalidInput("tz_offset must be a number of minutes.") from exc
    if not -900 <= offset <= 900:
        raise InvalidInput("tz_offset is out of range.")
    return local.replace(tzinfo=UTC) + timedelta(minutes=offset)


def _back_state(form: FormData) -> ListState:
    """The list state the conversation was opened with (the form's ``back`` query)."""
    back = form.get("back")
    query = back if isinstance(back, str) and back.startswith("?") and len(back) < 500 else ""
    try:
        return ListState.from_query(QueryParams(query[1:]))
    except InvalidInput:
        return ListState.from_query(QueryParams(""))


@router.post("/inbox/c/{conversation_id}/status")
def status(
    request: Request,
    conversation_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    new_status = text_field(form, "status", max_len=16)
    try:
        until = _snooze_time(form) if new_status == "snoozed" else None
        with runtime.db.write() as session:
            conversation = access_conversation(session, login.workspace_id, conversation_id)
            do_change_status(
                session,
                conversation,
                new_status,
                actor=Actor("agent", login.agent.id),
                snoozed_until=until,
            )
    except InvalidInput as exc:
        if is_fragment(request):
            raise
        # the conversation again, the problem beside the status form, the agent's choice kept
        context = _page_context(runtime, login, _back_state(form), conversation_id)
        until_raw = form.get("snoozed_until")
        context["status_form"] = {
            "error": exc.message,
            "status": new_status,
            "snoozed_until": until_raw.strip()[:40] if isinstance(until_raw, str) else "",
        }
        return render(request, "agent/inbox.html", context, login=login, status_code=exc.status)
    return _done(request, conversation_id, form)


@router.post("/inbox/c/{conversation_id}/priority")
def priority(
    request: Request,
    conversation_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    value = text_field(form, "priority", max_len=16)
    with runtime.db.write() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        do_change_priority(session, conversation, value, actor=Actor("agent", login.agent.id))
    return _done(request, conversation_id, form)


@router.post("/inbox/c/{conversation_id}/tags")
def tags(
    request: Request,
    conversation_id: PageId,
    login: PageLogin,
    form: SessionForm,
    runtime: RuntimeDep,
) -> Response:
    raw = text_field(form, "tags", max_len=2000)
    with runtime.db.write() as session:
        conversation = access_conversation(session, login.workspace_id, conversation_id)
        do_set_tags(session, conversation, raw.split(","), actor=Actor("agent", login.agent.id))
    return _done(request, conversation_id, form)

"""The embeddable chat widget: its script, its public endpoints and its WebSocket.

* ``GET /widget.js``: the script companies paste into their pages.
* ``GET /widget/v1/{slug}/texts?locale=…``: the widget's texts in the visitor's language,
  without a session, so that the widget speaks it even when no session can be opened.
* ``POST /widget/v1/{slug}/session``: who is chatting (see :mod:`.sessions`). The widget opens
  it when the page loads: help-center pages need the visitor then, to record what they read.
* ``WS /widget/v1/{slug}/ws?token=…``: sends, acks, live messages, resume (see :mod:`.connection`).
* ``POST /widget/v1/{slug}/messages`` and ``GET /widget/v1/{slug}/conversations/{id}/messages``:
  the same over plain HTTP, for networks that block WebSockets.
* ``POST /widget/v1/{slug}/conversations/{id}/email``: the email address a visitor leaves
  when nobody is online (the waterfall, :mod:`frontdesk.channels.waterfall`).
* ``GET /widget/v1/{slug}/conversations/{id}/surveys``, ``POST …/surveys/{id}/rating`` and
  ``…/comment``: the rating card shown after a resolution (CSAT, :mod:`frontdesk.web.survey`).
* ``GET /widget/demo/{slug}``: a page of our own with the snippet, to try the widget.

Cross-origin use is governed by the workspace's allowed origins (:mod:`.origins`); rate limits
apply per visitor and per IP address. These routes are left out of the REST API's OpenAPI
document: they are the widget's protocol, not the API.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from frontdesk.bot.suggestions import suggest_while_typing
from frontdesk.channels.chat import (
    ChatSend,
    customer_conversation,
    send_chat_message,
    visible_messages,
)
from frontdesk.channels.waterfall import clean_email, save_email
from frontdesk.errors import FrontdeskError, NotFound, RateLimited
from frontdesk.language.detect import detect_language
from frontdesk.store.models import Customer, Workspace
from frontdesk.web.deps import ClientIP, RuntimeDep, base_url, client_ip, get_runtime
from frontdesk.web.survey import widget as survey_widget
from frontdesk.web.widget.connection import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_RATE_LIMITED,
    CLOSE_UNAUTHORIZED,
    WidgetConnection,
)
from frontdesk.web.widget.origins import PREFLIGHT_HEADERS, WidgetRoute, check_origin
from frontdesk.web.widget.sessions import (
    SessionRequest,
    WidgetWorkspace,
    check_customer,
    load_workspace,
    open_session,
    read_session_token,
    widget_strings,
)
from frontdesk.web.widget.texts import pick_language

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "widget.js"

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/widget/v1/{slug}", route_class=WidgetRoute, include_in_schema=False)


# Dependencies ---------------------------------------------------------------------------------


def widget_workspace(request: Request) -> WidgetWorkspace:
    workspace: WidgetWorkspace = request.state.widget_workspace  # set by WidgetRoute
    return workspace


WorkspaceDep = Annotated[WidgetWorkspace, Depends(widget_workspace)]


def limit_ip(runtime: RuntimeDep, ip: ClientIP) -> None:
    runtime.limiter.hit(
        f"widget:ip:{ip}",
        limit=runtime.settings.rate_widget_ip_per_minute,
        window=60,
        what="chat requests from this address",
    )


_bearer = HTTPBearer(auto_error=False)


def widget_customer(
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _ip_ok: Annotated[None, Depends(limit_ip)],
) -> int:
    """The customer of the session token in ``Authorization: Bearer``, rate-limited."""
    token = (
        credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
    )
    customer_id = read_session_token(runtime.settings, token, workspace.id)
    runtime.limiter.hit(
        f"widget:customer:{workspace.id}:{customer_id}",
        limit=runtime.settings.rate_widget_per_minute,
        window=60,
        what="chat messages",
    )
    check_customer(runtime.db, workspace.id, customer_id)
    return customer_id


CustomerId = Annotated[int, Depends(widget_customer)]


# The script and the demo page -----------------------------------------------------------------


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(
        SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>{name}: chat widget demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;
line-height:1.6;color:#1f2937}}pre{{background:#f3f4f6;padding:1rem;overflow:auto;
white-space:pre-wrap;word-break:break-all}}</style></head>
<body><h1>{name}</h1>
<p>This page carries the chat widget of the workspace, exactly as a company's website would.
Paste this snippet before <code>&lt;/body&gt;</code> of your pages:</p>
<pre>{snippet_text}</pre>
<p>Logged-in users can be identified with <code>data-user-id</code> and
<code>data-user-hash</code> (hex HMAC-SHA256 of the user id with the workspace's identity
secret, computed on your server).</p>
{snippet}
</body></html>
"""


@router.get("/widget/demo/{slug}", response_class=HTMLResponse)
def widget_demo(request: Request, slug: str, runtime: RuntimeDep) -> HTMLResponse:
    workspace = load_workspace(runtime.db, slug)
    base = base_url(request)
    snippet = (
        f'<script src="{html.escape(base)}/widget.js" '
        f'data-workspace="{html.escape(workspace.slug)}" async></script>'
    )
    page = DEMO_PAGE.format(
        name=html.escape(workspace.name), snippet_text=html.escape(snippet), snippet=snippet
    )
    return HTMLResponse(page)


# Public endpoints -----------------------------------------------------------------------------


@api.options("/{rest:path}")
def preflight(workspace: WorkspaceDep) -> Response:
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)


Locale = Annotated[str, StringConstraints(max_length=35)]


@api.get("/texts")
def get_texts(
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    response: Response,
    # The widget's data-locale, then navigator.languages (as in the session request).
    locale: Annotated[list[Locale] | None, Query(max_length=11)] = None,
) -> dict[str, Any]:
    """The texts a session would bring, for a widget without one. Not rate-limited: it reads
    nothing the route has not read already, the browser keeps it for five minutes, and a
    visitor who is being limited is exactly the one who must be told so in their language."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return widget_strings(runtime.settings, workspace, locale or [])


@api.post("/session")
def start_session(
    body: SessionRequest,
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    ip: ClientIP,
    _ip_ok: Annotated[None, Depends(limit_ip)],
) -> dict[str, Any]:
    return open_session(runtime, workspace, body, ip=ip)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(max_length=200)
    text: str
    conversation_id: int | None = None
    page_url: str | None = None
    intent: Literal["yes", "no", "human"] | None = None


@api.post("/messages")
def post_message(
    body: MessageIn, runtime: RuntimeDep, workspace: WorkspaceDep, customer_id: CustomerId
) -> dict[str, Any]:
    delivery = send_chat_message(
        runtime.db,
        ChatSend(
            workspace_id=workspace.id,
            customer_id=customer_id,
            client_id=body.client_id,
            text=body.text,
            conversation_id=body.conversation_id,
            page_url=body.page_url,
            intent=body.intent,
        ),
        max_chars=runtime.settings.max_message_chars,
    )
    return {"message": delivery.message, "conversation": delivery.conversation}


def suggestion_customer(
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _ip_ok: Annotated[None, Depends(limit_ip)],
) -> int:
    """Like :func:`widget_customer`, with its own limit: typing must not use up the messages'."""
    token = (
        credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
    )
    customer_id = read_session_token(runtime.settings, token, workspace.id)
    runtime.limiter.hit(
        f"widget:suggest:{workspace.id}:{customer_id}",
        limit=runtime.settings.rate_widget_per_minute * 2,
        window=60,
        what="article suggestions",
    )
    return customer_id


@api.get("/suggestions")
def get_suggestions(
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    customer_id: Annotated[int, Depends(suggestion_customer)],
    q: Annotated[str, Query(max_length=2000)] = "",
    lang: Annotated[str | None, Query(max_length=35)] = None,
) -> dict[str, Any]:
    """Up to 3 articles for what the customer is typing (F2)."""
    with runtime.db.read() as session:
        row = session.get(Workspace, workspace.id)
        customer = session.get(Customer, customer_id)
        if row is None or customer is None or customer.workspace_id != workspace.id:
            raise NotFound("This chat session has ended; start a new one.")
        # What is typed decides; a few letters fall back to what we know of the visitor.
        known = customer.language or (pick_language(lang) if lang else row.default_language)
        language = detect_language(q, fallback=known).language
        index = runtime.knowledge.index(session, row.id)
        articles = suggest_while_typing(index, runtime.knowledge, row, q, language)
    return {"articles": articles}


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)


@api.post("/conversations/{conversation_id}/email")
def post_email(
    conversation_id: int,
    body: EmailIn,
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    customer_id: CustomerId,
) -> dict[str, Any]:
    """The waterfall's "leave your email" (F22): replies then also go to this address."""
    clean_email(body.email)  # a typo is refused before it counts against the limit
    runtime.limiter.hit(
        f"widget:email:{workspace.id}:{customer_id}",
        limit=runtime.settings.rate_widget_email_per_hour,
        window=3600,
        what="email addresses",
    )
    return save_email(runtime.db, workspace.id, customer_id, conversation_id, body.email)


@api.get("/conversations/{conversation_id}/messages")
def get_messages(
    conversation_id: int,
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    customer_id: CustomerId,
    after_seq: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    with runtime.db.read() as session:
        conversation = customer_conversation(session, workspace.id, customer_id, conversation_id)
        messages = visible_messages(session, conversation.id, after_seq=after_seq, limit=1000)
        return {
            "conversation": {
                "id": conversation.id,
                "status": conversation.status,
                "last_seq": conversation.last_seq,
            },
            "messages": messages,
        }


@api.get("/conversations/{conversation_id}/surveys")
def get_surveys(
    conversation_id: survey_widget.ConversationId,
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    customer_id: CustomerId,
) -> dict[str, Any]:
    """The rating cards of the visitor's conversation (CSAT, F32)."""
    return survey_widget.list_surveys(runtime, workspace.id, customer_id, conversation_id)


@api.post("/surveys/{survey_id}/rating")
def post_survey_rating(
    survey_id: survey_widget.SurveyId,
    body: survey_widget.RatingIn,
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    customer_id: CustomerId,
) -> dict[str, Any]:
    return survey_widget.rate(runtime, workspace.id, customer_id, survey_id, body)


@api.post("/surveys/{survey_id}/comment")
def post_survey_comment(
    survey_id: survey_widget.SurveyId,
    body: survey_widget.CommentIn,
    runtime: RuntimeDep,
    workspace: WorkspaceDep,
    customer_id: CustomerId,
) -> dict[str, Any]:
    return survey_widget.comment(runtime, workspace.id, customer_id, survey_id, body)


# The WebSocket --------------------------------------------------------------------------------


@router.websocket("/widget/v1/{slug}/ws")
async def widget_socket(websocket: WebSocket, slug: str) -> None:
    runtime = get_runtime(websocket)
    ip = client_ip(websocket)
    # Accept first so that the refusal reaches the browser as a close code it can act on (a
    # refused handshake is only "1006" to page scripts).
    await websocket.accept()
    try:
        workspace = await run_in_threadpool(load_workspace, runtime.db, slug)
    except FrontdeskError as exc:
        await websocket.close(CLOSE_NOT_FOUND, exc.message[:120])
        return
    try:
        check_origin(websocket, workspace)
    except FrontdeskError:
        await websocket.close(CLOSE_FORBIDDEN, "origin not allowed")
        return
    try:
        customer_id = read_session_token(
            runtime.settings, websocket.query_params.get("token"), workspace.id
        )
        await run_in_threadpool(check_customer, runtime.db, workspace.id, customer_id)
    except FrontdeskError as exc:
        await websocket.close(CLOSE_UNAUTHORIZED, exc.message[:120])
        return
    try:
        runtime.limiter.hit(
            f"widget:ip:{ip}",
            limit=runtime.settings.rate_widget_ip_per_minute,
            window=60,
            what="chat requests from this address",
        )
    except RateLimited as exc:
        await websocket.send_json(
            {
                "type": "error",
                "code": exc.code,
                "message": exc.message,
                "retry_after": exc.retry_after,
            }
        )
        await websocket.close(CLOSE_RATE_LIMITED, "rate limited")
        return
    connection = WidgetConnection(
        websocket, runtime, workspace_id=workspace.id, customer_id=customer_id, ip=ip
    )
    await connection.run()


router.include_router(api)

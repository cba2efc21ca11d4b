"""Who is chatting: widget sessions for anonymous visitors and verified users.

``POST /widget/v1/{slug}/session`` ends in :func:`open_session`. It finds or creates the
customer, merges an anonymous visitor into the verified user they log in as, applies the
profile fields they may set, and returns a signed session token (24 h) that carries the
workspace and customer ids. The HTTP endpoints take it as ``Authorization: Bearer``, the
WebSocket as ``?token=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select

from frontdesk.channels.chat import current_conversation, visible_messages
from frontdesk.channels.waterfall import team_away
from frontdesk.config import Settings
from frontdesk.conversations.events import Actor
from frontdesk.customers.actions import (
    create_visitor,
    customer_by_visitor_token,
    do_update_customer,
    identify_verified_user,
)
from frontdesk.customers.identity import new_visitor_token, verify_user_hash
from frontdesk.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from frontdesk.runtime import Runtime
from frontdesk.store.database import Database
from frontdesk.store.models import Customer, Workspace, utcnow
from frontdesk.web.widget.texts import pick_language, widget_texts

SESSION_MAX_AGE = 24 * 3600
_SALT = "frontdesk.widget.session"


@dataclass(frozen=True)
class WidgetWorkspace:
    """What the widget endpoints need of a workspace, detached from any database session."""

    id: int
    slug: str
    name: str
    allowed_origins: tuple[str, ...]
    require_identity: bool
    default_language: str


def load_workspace(db: Database, slug: str) -> WidgetWorkspace:
    with db.read() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
        if workspace is None:
            raise NotFound(
                f"Workspace {slug!r} was not found: check data-workspace in the snippet."
            )
        return WidgetWorkspace(
            id=workspace.id,
            slug=workspace.slug,
            name=workspace.name,
            allowed_origins=tuple(str(o) for o in workspace.allowed_origins or ()),
            require_identity=workspace.require_identity,
            default_language=workspace.default_language,
        )


# Session tokens -------------------------------------------------------------------------------


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt=_SALT)


def issue_session_token(settings: Settings, workspace_id: int, customer_id: int) -> str:
    return str(_serializer(settings).dumps({"w": workspace_id, "c": customer_id}))


def read_session_token(settings: Settings, token: str | None, workspace_id: int) -> int:
    """The customer id in ``token`` if it is genuine, fresh and for this workspace."""
    if not token:
        raise Unauthorized("Open a widget session first and send its session_token.")
    try:
        data = _serializer(settings).loads(token, max_age=SESSION_MAX_AGE)
    except SignatureExpired:
        raise Unauthorized("The widget session expired; open a new one.") from None
    except BadSignature:
        raise Unauthorized("The widget session token is not valid; open a new session.") from None
    if (
        not isinstance(data, dict)
        or data.get("w") != workspace_id
        or not isinstance(data.get("c"), int)
    ):
        raise Unauthorized("The widget session token is not valid for this workspace.")
    customer_id: int = data["c"]
    return customer_id


def check_customer(db: Database, workspace_id: int, customer_id: int) -> None:
    """A session outlives its customer when an anonymous visitor is merged into a verified user."""
    with db.read() as session:
        found = session.scalar(
            select(Customer.id).where(
                Customer.id == customer_id, Customer.workspace_id == workspace_id
            )
        )
    if found is None:
        raise Unauthorized("This widget session has ended; open a new one.")


# Opening a session ----------------------------------------------------------------------------


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid UTF-8 text") from None
    return value


def _utf8_tree(value: Any) -> Any:
    if isinstance(value, str):
        _utf8(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _utf8_tree(key)
            _utf8_tree(item)
    elif isinstance(value, list):
        for item in value:
            _utf8_tree(item)
    return value


Utf8 = Annotated[str, AfterValidator(_utf8)]


class SessionRequest(BaseModel):
    """What the widget knows about its visitor when it starts."""

    model_config = ConfigDict(extra="forbid")

    visitor_token: Annotated[Utf8, Field(max_length=100)] | None = None
    user_id: Annotated[Utf8, Field(max_length=200)] | None = None
    user_hash: Annotated[Utf8, Field(max_length=128)] | None = None
    name: Annotated[Utf8, Field(max_length=200)] | None = None
    email: Annotated[Utf8, Field(max_length=320)] | None = None
    attributes: Annotated[dict[str, Any], AfterValidator(_utf8_tree)] | None = None
    locale: Annotated[Utf8, Field(max_length=35)] | None = None
    # navigator.languages, tried after ``locale``.
    browser_locales: Annotated[
        list[Annotated[Utf8, Field(max_length=35)]], Field(max_length=10)
    ] = []
    page_url: Annotated[Utf8, Field(max_length=2000)] | None = None


def widget_strings(
    settings: Settings,
    workspace: WidgetWorkspace,
    locales: Sequence[str | None],
    *,
    away: bool = False,
) -> dict[str, Any]:
    """The widget's texts in the first of ``locales`` it speaks (else the workspace's default
    language), and what else it shows before any message: the same in a session and without.
    ``away`` (known in a session: :func:`frontdesk.channels.waterfall.team_away`): the header
    says so instead of "we usually reply in a few minutes"."""
    language = pick_language(*locales, workspace.default_language)
    texts = widget_texts(language, workspace.name)
    if away:
        texts["subtitle"] = texts["subtitle_away"]
    return {
        "texts": texts,
        "language": language,
        "workspace": {"slug": workspace.slug, "name": workspace.name},
        "limits": {"max_message_chars": settings.max_message_chars},
    }


def _supported(locale: str | None) -> str | None:
    if not locale:
        return None
    language = pick_language(locale)
    return language if locale.strip().lower().startswith(language) else None


def open_session(
    runtime: Runtime, workspace_info: WidgetWorkspace, req: SessionRequest, *, ip: str
) -> dict[str, Any]:
    settings = runtime.settings
    if req.user_hash is not None and req.user_id is None:
        raise InvalidInput("user_hash was sent without user_id.")
    locales = [req.locale, *req.browser_locales]
    hinted = next((lang for lang in map(_supported, locales) if lang), None)
    visitor_token = req.visitor_token or None
    with runtime.db.write() as session:
        workspace = session.get(Workspace, workspace_info.id)
        if workspace is None:
            raise NotFound(f"Workspace {workspace_info.slug!r} was not found.")
        if req.user_id is not None:
            if not verify_user_hash(workspace.identity_secret, req.user_id, req.user_hash):
                raise Unauthorized(
                    "user_hash does not match user_id: compute it on your server as the hex "
                    "HMAC-SHA256 of user_id with the workspace's identity secret."
                )
            customer = identify_verified_user(
                session, workspace, req.user_id, visitor_token=visitor_token, language=hinted
            )
            if req.name is not None or req.email is not None or req.attributes:
                do_update_customer(
                    session,
                    customer,
                    actor=Actor("customer", customer.id),
                    name=req.name,
                    email=req.email,
                    attributes=req.attributes or None,
                )
        else:
            if workspace.require_identity:
                raise Unauthorized(
                    "This workspace chats with signed-in users only: send user_id and user_hash."
                )
            if req.attributes:
                raise Forbidden(
                    "Only verified users can set attributes: send user_id and user_hash."
                )
            known = (
                customer_by_visitor_token(session, workspace, visitor_token)
                if visitor_token
                else None
            )
            if known is not None:
                customer = known
            else:
                runtime.limiter.hit(
                    f"widget:new-visitor:{ip}",
                    limit=settings.rate_widget_sessions_per_hour,
                    window=3600,
                    what="new chat visitors from this address",
                )
                visitor_token = new_visitor_token()
                customer = create_visitor(session, workspace, visitor_token, language=hinted)
            if req.name is not None or req.email is not None:
                # An anonymous visitor may say who they are; the profile stays unverified.
                do_update_customer(
                    session,
                    customer,
                    actor=Actor("customer", customer.id),
                    name=req.name,
                    email=req.email,
                )
        conversation = current_conversation(session, workspace.id, customer.id)
        messages = visible_messages(session, conversation.id) if conversation else []
        result: dict[str, Any] = {
            "session_token": issue_session_token(settings, workspace.id, customer.id),
            "visitor_token": visitor_token or new_visitor_token(),
            "customer": {
                "id": customer.id,
                "name": customer.name,
                "email": customer.email,
                "verified": customer.verified,
            },
            "conversation": {
                "id": conversation.id,
                "status": conversation.status,
                "last_seq": conversation.last_seq,
            }
            if conversation
            else None,
            "messages": messages,
            **widget_strings(
                settings, workspace_info, locales, away=team_away(session, workspace, utcnow())
            ),
        }
    return result

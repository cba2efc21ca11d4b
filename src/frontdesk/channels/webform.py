"""The web-form channel (F20): a public form per workspace that opens an email ticket.

What the page sends becomes an :class:`~frontdesk.inbound.InboundMessage` on the one ingest
path (channel ``web_form``): the customer is found by email or created with the name and
email typed in, the conversation answers by email (``reply_by_email``, set in the first step,
before the bot speaks, so its answer goes out by email too) and the attached file is stored
on the message (:func:`frontdesk.attachments.store_attachment`).

Anti-abuse: the page carries a signed, timestamped token (itsdangerous with the server's
secret) naming the workspace and a random nonce; a post without a valid token less than a day
old is refused. The nonce is the message's ``client_id``, so one token makes at most one
ticket: a double click, a reload of the thank-you page or a replayed post is stored once. A
honeypot field and the per-IP rate limit live in the web layer
(:mod:`frontdesk.web.webform.router`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.orm import Session

from frontdesk import inbound
from frontdesk.attachments import store_attachment
from frontdesk.channels.email.addresses import normalize_address
from frontdesk.config import Settings
from frontdesk.customers.actions import customer_by_email
from frontdesk.errors import InvalidInput
from frontdesk.inbound import InboundContext, InboundMessage, InboundResult
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, Customer, Message, Workspace

__all__ = [
    "CHANNEL",
    "TOKEN_MAX_AGE_SECONDS",
    "FormError",
    "FormSubmission",
    "FormToken",
    "TokenRefused",
    "WebFormResult",
    "check_token",
    "issue_token",
    "submit_web_form",
    "validate",
]

log = logging.getLogger(__name__)

CHANNEL: Final = "web_form"
TOKEN_MAX_AGE_SECONDS: Final = 24 * 3600
MAX_NAME_CHARS: Final = 200
MAX_EMAIL_CHARS: Final = 320
MAX_SUBJECT_CHARS: Final = 300
_SALT: Final = "frontdesk.webform.v1"


# --------------------------------------------------------------------------- the token


@dataclass(frozen=True)
class FormToken:
    workspace_id: int
    nonce: str  # 32 hex characters: the ticket's client_id is derived from it


class TokenRefused(Exception):
    """The post carries no token, a forged one, one of another workspace, or an old one."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt=_SALT)


def issue_token(settings: Settings, workspace_id: int) -> str:
    """A fresh token for one form page of ``workspace_id``."""
    return str(_serializer(settings).dumps({"w": workspace_id, "n": secrets.token_hex(16)}))


def check_token(
    settings: Settings,
    workspace_id: int,
    token: object,
    *,
    max_age: int = TOKEN_MAX_AGE_SECONDS,
) -> FormToken:
    if not isinstance(token, str) or not token or len(token) > 500:
        raise TokenRefused("the form token is missing")
    try:
        data = _serializer(settings).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenRefused("the form token is older than a day", expired=True) from None
    except BadSignature:
        raise TokenRefused("the form token is forged or damaged") from None
    if not isinstance(data, dict) or data.get("w") != workspace_id:
        raise TokenRefused("the form token belongs to another workspace")
    nonce = data.get("n")
    if not isinstance(nonce, str) or len(nonce) != 32:
        raise TokenRefused("the form token is malformed")
    return FormToken(workspace_id, nonce)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class FormError:
    """One field's problem: ``code`` names the localised text, ``params`` fill it in."""

    code: str  # required | email_invalid | too_long | invalid_text | file_too_large | file_empty
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormSubmission:
    name: str
    email: str
    subject: str
    message: str
    attachment_name: str | None = None
    attachment: bytes | None = None


def _text_problem(value: str, limit: int) -> FormError | None:
    if not value.strip():
        return FormError("required")
    if len(value) > limit:
        return FormError("too_long", {"max": str(limit), "length": str(len(value))})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return FormError("invalid_text")
    if "\x00" in value:
        return FormError("invalid_text")
    return None


def validate(
    submission: FormSubmission, *, max_message_chars: int, max_attachment_bytes: int
) -> dict[str, FormError]:
    """Every problem of the submission by field name; empty when it can be sent."""
    errors: dict[str, FormError] = {}
    for name, value, limit in (
        ("name", submission.name, MAX_NAME_CHARS),
        ("email", submission.email, MAX_EMAIL_CHARS),
        ("subject", submission.subject, MAX_SUBJECT_CHARS),
        ("message", submission.message, max_message_chars),
    ):
        problem = _text_problem(value, limit)
        if problem is not None:
            errors[name] = problem
    if "email" not in errors:
        address = normalize_address(submission.email.strip())
        if not address or address != submission.email.strip().lower() or "." not in address:
            errors["email"] = FormError("email_invalid")
    if submission.attachment is not None:
        size = len(submission.attachment)
        if size > max_attachment_bytes:
            errors["attachment"] = FormError(
                "file_too_large", {"size": str(size), "max": str(max_attachment_bytes)}
            )
        elif size == 0:
            errors["attachment"] = FormError("file_empty")
    return errors


# --------------------------------------------------------------------------- the ticket


@dataclass(frozen=True)
class WebFormResult:
    conversation_id: int
    message_id: int
    customer_id: int
    email: str
    duplicate: bool  # the same token was sent before: nothing new was stored
    attachment_id: int | None = None
    attachment_failed: bool = False  # the ticket is stored, but its file could not be
    # the ticket is stored, its file refused (the workspace's attachment quota): the message's
    # meta.web_form.dropped says why, for the agent
    attachment_refused: bool = False


def _customer_for(session: Session, workspace: Workspace, email: str, name: str) -> Customer:
    if session.get_bind().dialect.name == "postgresql":
        # serialise find-or-create of one address across processes (SQLite serialises writes)
        key = f"customer:{workspace.id}:{email}"
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})
    customer = customer_by_email(session, workspace, email)
    if customer is None:
        customer = Customer(workspace_id=workspace.id, email=email, name=name or None)
        session.add(customer)
        session.flush()
        log.info("web form: new customer %s in workspace %s", customer.id, workspace.id)
    elif not customer.name and name:
        customer.name = name
    return customer


class _WebFormStep:
    """The first step after the message is stored: answer by email from now on, and keep the
    file, before the bot and the routing run."""

    def __init__(self, runtime: Runtime, submission: FormSubmission) -> None:
        self.runtime = runtime
        self.submission = submission
        self.attachment_id: int | None = None

    def __call__(self, session: Session, ctx: InboundContext) -> None:
        conversation = session.get(Conversation, ctx.conversation_id)
        assert conversation is not None
        conversation.reply_by_email = True
        self.attachment_id = _store_file(
            session, self.runtime, conversation, ctx.message_id, self.submission
        )


def _store_file(
    session: Session,
    runtime: Runtime,
    conversation: Conversation,
    message_id: int,
    submission: FormSubmission,
) -> int | None:
    if submission.attachment is None:
        return None
    message = session.get(Message, message_id)
    assert message is not None
    existing = (message.meta or {}).get("attachments") or []
    if existing:  # stored already (this is the retry after a failed step)
        return int(existing[0]["id"])
    form_meta = dict((message.meta or {}).get("web_form") or {})
    if form_meta.get("dropped"):  # refused already
        return None
    try:
        attachment = store_attachment(
            session,
            runtime.settings,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            message_id=message.id,
            filename=submission.attachment_name or "attachment",
            data=submission.attachment,
        )
    except InvalidInput as refused:  # the quota: the ticket goes on without its file
        form_meta["dropped"] = [refused.message]
        message.meta = {**(message.meta or {}), "web_form": form_meta}
        return None
    return attachment.id


def client_id_for(token: FormToken) -> str:
    return f"form:{token.nonce}"


def submit_web_form(
    runtime: Runtime, workspace_id: int, token: FormToken, submission: FormSubmission
) -> WebFormResult:
    """Create the ticket of a validated submission (see :func:`validate`)."""
    settings = runtime.settings
    email = normalize_address(submission.email)
    name = " ".join(submission.name.split())[:MAX_NAME_CHARS]
    subject = " ".join(submission.subject.split())[:MAX_SUBJECT_CHARS]
    with runtime.db.write() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        customer_id = _customer_for(session, workspace, email, name).id
    step = _WebFormStep(runtime, submission)
    result: InboundResult = inbound.receive(
        runtime.db,
        InboundMessage(
            workspace_id=workspace_id,
            channel=CHANNEL,
            customer_id=customer_id,
            text=submission.message,
            subject=subject,
            client_id=client_id_for(token),
            meta={"web_form": {"name": name, "email": email}},
        ),
        max_chars=settings.max_message_chars,
        # read at each call: other features add their steps to the one list
        steps=[("web_form", step), *inbound.PIPELINE],
    )
    if result.duplicate:
        log.info("web form: token sent again; message %s is stored once", result.message_id)
        return WebFormResult(result.conversation_id, result.message_id, customer_id, email, True)

    # The step may have failed (it is logged and the message is kept): make sure of both.
    attachment_id = step.attachment_id
    failed = False
    try:
        with runtime.db.write() as session:
            conversation = session.get(Conversation, result.conversation_id)
            assert conversation is not None
            conversation.reply_by_email = True
            attachment_id = _store_file(
                session, runtime, conversation, result.message_id, submission
            )
    except Exception:
        log.exception("web form: message %s is stored but its file could not be", result.message_id)
        failed = submission.attachment is not None
    refused = submission.attachment is not None and attachment_id is None and not failed
    log.info(
        "web form: message %s in conversation %s from customer %s%s",
        result.message_id,
        result.conversation_id,
        customer_id,
        " with an attachment" if attachment_id else "",
    )
    return WebFormResult(
        result.conversation_id,
        result.message_id,
        customer_id,
        email,
        False,
        attachment_id=attachment_id,
        attachment_failed=failed,
        attachment_refused=refused,
    )

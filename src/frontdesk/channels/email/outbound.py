"""The email outbox: every email to a customer (an agent's or the bot's reply, a survey, a
follow-up) is a row, sent by a job with retries, so a relay outage loses nothing.

1. :func:`queue_email` adds an :class:`OutboundEmail` in the caller's transaction, with its
   Message-ID, threading headers (In-Reply-To/References of the conversation's last email) and
   the conversation's signed reply-to (F30: every email can be answered). After the commit it
   enqueues ``send_email(id)``; if the queue is unreachable, ``sweep_emails`` (every minute)
   enqueues what is due.
2. ``send_email`` claims the row (pending and due → attempts+1 and a lease past the SMTP
   timeout), hands it to the relay, and records the outcome: ``sent``; or, while attempts
   remain, pending again with bounded exponential backoff (the agent sees "retrying"); then
   ``failed``. A worker killed mid-send leaves the row pending: it is sent again after the
   lease with the *same* Message-ID, so the customer's mail client shows it once.
3. Each change of state is published to the workspace's inbox, next to the message it carries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.channels.email.addresses import (
    new_message_id,
    normalize_address,
    reply_address,
    split_address,
)
from frontdesk.jobs.backoff import retry_delay
from frontdesk.jobs.registry import job, periodic
from frontdesk.live import publish_after_commit, workspace_channel
from frontdesk.mail import MailNotSent, smtp_send
from frontdesk.store.models import (
    Conversation,
    Message,
    OutboundEmail,
    SupportAddress,
    utcnow,
)

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

log = logging.getLogger(__name__)

_POLICY = policy.default.clone(max_line_length=998)
PENDING, SENT, FAILED = "pending", "sent", "failed"
SWEEP_BATCH = 500
MAX_REFERENCES = 20


def default_support_address(session: Session, workspace_id: int) -> SupportAddress | None:
    """The workspace's default support address (or its first), None if it has none."""
    return session.scalar(
        select(SupportAddress)
        .where(SupportAddress.workspace_id == workspace_id)
        .order_by(SupportAddress.is_default.desc(), SupportAddress.id)
        .limit(1)
    )


def _thread_ids(session: Session, conversation: Conversation) -> list[str]:
    """The Message-IDs of the conversation's emails so far, oldest first: inbound ones (kept in
    the message's meta by the inbound channel) and the ones we sent."""
    ids: list[tuple[datetime, str]] = []
    inbound = session.execute(
        select(Message.created_at, Message.meta).where(
            Message.conversation_id == conversation.id,
            Message.author_type == "customer",
        )
    )
    for created_at, meta in inbound:
        mid = ((meta or {}).get("email") or {}).get("message_id")
        if mid:
            ids.append((created_at, str(mid)))
    outbound = session.execute(
        select(OutboundEmail.created_at, OutboundEmail.message_id_header).where(
            OutboundEmail.conversation_id == conversation.id
        )
    )
    ids.extend((created_at, mid.strip("<>")) for created_at, mid in outbound)
    ids.sort(key=lambda pair: pair[0])
    return [mid for _, mid in ids]


def reply_subject(subject: str | None) -> str:
    subject = " ".join((subject or "").split()) or "Your request"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def queue_email(
    session: Session,
    conversation: Conversation,
    *,
    text: str,
    kind: str = "reply",
    subject: str | None = None,
    html: str | None = None,
    message: Message | None = None,
    to: str | None = None,
) -> OutboundEmail | None:
    """Add an email to the customer of ``conversation`` to the outbox (sent after the commit).

    ``message`` is the transcript message it carries (its delivery state shows beside it).
    ``subject`` defaults to "Re: <conversation subject>". Returns None, and logs why, when the
    customer has no email address: nothing can be sent."""
    recipient = normalize_address(to or conversation.customer.email or "")
    if not recipient:
        log.info(
            "conversation %s: no email address for customer %s, %s email not queued",
            conversation.id,
            conversation.customer_id,
            kind,
        )
        return None
    runtime = session.info.get("runtime")
    settings = runtime.settings if runtime is not None else None
    support = default_support_address(session, conversation.workspace_id)
    if support is not None:
        from_address = str(Address(support.name or "", addr_spec=support.address))
        base = support.address
    else:
        from_address = settings.mail_from if settings is not None else "frontdesk@localhost"
        base = normalize_address(from_address) or "frontdesk@localhost"
    secret = settings.resolved_secret_key() if settings is not None else "frontdesk"
    thread = _thread_ids(session, conversation)
    email = OutboundEmail(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        message_id=message.id if message is not None else None,
        kind=kind,
        from_addr=from_address,
        to_addr=recipient,
        reply_to=reply_address(base, conversation.id, secret),
        subject=subject or reply_subject(conversation.subject),
        message_id_header=new_message_id(split_address(base)[1]),
        in_reply_to=f"<{thread[-1]}>" if thread else None,
        references=[f"<{mid}>" for mid in thread[-MAX_REFERENCES:]],
        body_text=text,
        body_html=html,
        status=PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(email)
    session.flush()
    _publish_state(session, email)
    if runtime is not None:
        runtime.jobs.enqueue_after_commit(session, "send_email", email.id)
    return email


def delivery_state(email: OutboundEmail) -> str:
    """What the agent sees: ``sending``, ``retrying``, ``sent`` or ``failed``."""
    if email.status == PENDING:
        return "retrying" if email.attempts > 0 and email.last_error else "sending"
    return email.status


def delivery_payload(email: OutboundEmail) -> dict[str, Any]:
    return {
        "id": email.id,
        "message_id": email.message_id,
        "kind": email.kind,
        "to": email.to_addr,
        "state": delivery_state(email),
        "attempts": email.attempts,
        "error": email.last_error,
        "next_attempt_at": email.next_attempt_at.isoformat() if email.status == PENDING else None,
        "sent_at": email.sent_at.isoformat() if email.sent_at else None,
    }


def message_deliveries(
    session: Session, conversation_id: int, message_ids: list[int] | None = None
) -> dict[int, dict[str, Any]]:
    """The delivery of each emailed message of a conversation (the latest email of each, if
    one was sent twice), as :func:`delivery_payload`: what the inbox shows beside it."""
    query = select(OutboundEmail).where(
        OutboundEmail.conversation_id == conversation_id, OutboundEmail.message_id.is_not(None)
    )
    if message_ids is not None:
        if not message_ids:
            return {}
        query = query.where(OutboundEmail.message_id.in_(message_ids))
    found: dict[int, dict[str, Any]] = {}
    for email in session.scalars(query.order_by(OutboundEmail.id)):
        assert email.message_id is not None
        found[email.message_id] = delivery_payload(email)
    return found


def _publish_state(session: Session, email: OutboundEmail) -> None:
    publish_after_commit(
        session,
        workspace_channel(email.workspace_id),
        {
            "type": "email.delivery",
            "conversation_id": email.conversation_id,
            "delivery": delivery_payload(email),
        },
    )


def build_email(email: OutboundEmail) -> EmailMessage:
    """The MIME message of an outbox row: the same headers on every attempt."""
    # Lines up to RFC 5322's 998: a long Message-ID in In-Reply-To/References must stay one
    # token, never become an encoded word that breaks threading in the customer's client.
    mime = EmailMessage(policy=_POLICY)
    mime["From"] = email.from_addr
    mime["To"] = email.to_addr
    mime["Reply-To"] = email.reply_to
    mime["Subject"] = email.subject
    mime["Message-ID"] = email.message_id_header
    mime["Date"] = format_datetime(email.created_at)
    if email.in_reply_to:
        mime["In-Reply-To"] = email.in_reply_to
    if email.references:
        mime["References"] = " ".join(email.references)
    # Our own mail is automated: other systems' auto-responders must not answer it (RFC 3834).
    if email.kind != "reply":
        mime["Auto-Submitted"] = "auto-generated"
    mime["X-Auto-Response-Suppress"] = "All"
    mime.set_content(email.body_text)
    if email.body_html:
        mime.add_alternative(email.body_html, subtype="html")
    return mime


@dataclass(frozen=True)
class Claimed:
    email_id: int
    attempt: int
    mime: EmailMessage


def lease_seconds(timeout: float) -> float:
    return timeout * 2 + 5


def claim(runtime: Runtime, email_id: int, now: datetime) -> Claimed | None:
    lease = timedelta(seconds=lease_seconds(runtime.settings.mail_timeout_seconds))
    with runtime.db.write() as session:
        result = session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.id == email_id,
                OutboundEmail.status == PENDING,
                OutboundEmail.next_attempt_at <= now,
            )
            .values(attempts=OutboundEmail.attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        email = session.get(OutboundEmail, email_id, populate_existing=True)
        assert email is not None
        return Claimed(email.id, email.attempts, build_email(email))


def record_result(
    runtime: Runtime, claimed: Claimed, error: str | None, now: datetime, *, relayed: bool = True
) -> str:
    """Store the outcome of one attempt; return the new status (``lost`` if the lease passed to
    another worker meanwhile)."""
    settings = runtime.settings
    delay = 0.0
    with runtime.db.write() as session:
        values: dict[str, Any]
        if error is None:
            status = SENT
            values = {
                "status": SENT,
                "sent_at": now,
                "last_error": None if relayed else "no relay configured: written to the log",
            }
        elif claimed.attempt >= settings.mail_max_attempts:
            status = FAILED
            values = {"status": FAILED, "last_error": error}
        else:
            status = PENDING
            delay = retry_delay(claimed.attempt, settings.mail_retry_base_seconds)
            values = {"last_error": error, "next_attempt_at": now + timedelta(seconds=delay)}
        updated = session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.id == claimed.email_id,
                OutboundEmail.status == PENDING,
                OutboundEmail.attempts == claimed.attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(updated, "rowcount", 0) != 1:
            log.warning("email %s changed hands while sending; result dropped", claimed.email_id)
            return "lost"
        email = session.get(OutboundEmail, claimed.email_id, populate_existing=True)
        assert email is not None
        _publish_state(session, email)
        if status == PENDING:
            runtime.jobs.enqueue_after_commit(session, "send_email", email.id, delay=delay)
    if status == FAILED:
        log.error("email %s failed after %d attempts: %s", claimed.email_id, claimed.attempt, error)
    elif status == PENDING:
        log.warning(
            "email %s not sent (attempt %d, retry in %.0fs): %s",
            claimed.email_id,
            claimed.attempt,
            delay,
            error,
        )
    return status


def attempt_send(runtime: Runtime, email_id: int, *, now: datetime | None = None) -> str:
    """One attempt: claim, hand to the relay, record. Returns the status, or ``skipped``."""
    now = now or utcnow()
    claimed = claim(runtime, email_id, now)
    if claimed is None:
        return "skipped"
    error: str | None = None
    relayed = True
    try:
        relayed = smtp_send(
            runtime.settings, claimed.mime, timeout=runtime.settings.mail_timeout_seconds
        )
    except MailNotSent as exc:
        error = str(exc)
    return record_result(runtime, claimed, error, max(now, utcnow()), relayed=relayed)


@job("send_email")
def send_email(email_id: int) -> None:
    from frontdesk.runtime import current

    attempt_send(current(), email_id)


def due_emails(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    query = (
        select(OutboundEmail.id)
        .where(OutboundEmail.status == PENDING, OutboundEmail.next_attempt_at <= now)
        .order_by(OutboundEmail.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def sweep(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Enqueue every due pending email (enqueues lost while Redis was down, expired leases)."""
    with runtime.db.read() as session:
        ids = due_emails(session, now or utcnow())
    for email_id in ids:
        runtime.jobs.enqueue("send_email", email_id)
    if ids:
        log.info("email sweep enqueued %d due emails", len(ids))
    return len(ids)


@periodic("sweep_emails", minute="*")
def sweep_emails() -> None:
    from frontdesk.runtime import current

    sweep(current())


def retry_failed(session: Session, email_id: int, workspace_id: int) -> OutboundEmail:
    """Put a failed email back in the outbox (the agent's "Retry"); same Message-ID."""
    from frontdesk.errors import Conflict, NotFound

    email = session.get(OutboundEmail, email_id)
    if email is None or email.workspace_id != workspace_id:
        raise NotFound(f"Email {email_id} was not found.")
    if email.status != FAILED:
        raise Conflict(f"Email {email_id} is {delivery_state(email)}; only failed emails retry.")
    email.status = PENDING
    email.attempts = 0
    email.last_error = None
    email.next_attempt_at = utcnow()
    session.flush()
    _publish_state(session, email)
    runtime = session.info.get("runtime")
    if runtime is not None:
        runtime.jobs.enqueue_after_commit(session, "send_email", email.id)
    return email

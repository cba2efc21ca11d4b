"""Inbound email, from the raw bytes to a message in a conversation.

1. The mail log first. :func:`accept_mail` writes the raw bytes (an :class:`InboundMail`,
   ``pending``) and commits before the SMTP listener answers 250 or the IMAP poller marks the
   mail seen: once accepted, an email is never lost. If that write fails the listener answers
   451 and the sender tries again later.
2. ``process_mail(id)``, a job enqueued after that commit (and again by the minutely sweep for
   whatever is still pending a minute later, e.g. when the queue was unreachable), does the
   rest. It first *claims* the mail: attempts + 1 and a lease, in one conditional UPDATE, so two
   workers never process one mail at once, and a mail whose worker died is taken over once the
   lease is over; after ``mail_process_max_attempts`` claims it is marked failed instead (no
   endless re-run of a mail that kills its worker).
3. Processing: parse (:mod:`frontdesk.channels.email.parse`); the workspace from the recipients
   (a support address, or a signed reply tag ``support+c42-sig@``; the envelope first, then
   To/Cc/Delivered-To); auto-replies and bounces are ``ignored`` (never answered: no loops);
   the customer by the From: address (created if new; a From: of one of the workspace's agents
   is still a customer's mail, RELIABILITY row 9); the conversation by the reply tag or the
   In-Reply-To/References ids, and only if the sender is that conversation's customer;
   otherwise a new conversation. Then :func:`frontdesk.inbound.receive`, the one ingest path
   (guardrails, bot, routing), with the Message-ID as the message's ``client_id``: a second
   delivery of the same email is stored once (``duplicate``).
4. The outcome is written on the mail: ``stored`` (with the conversation and message),
   ``duplicate``, ``ignored`` (with the reason) or ``failed`` (with the reason, and an ERROR
   line "inbound mail N failed: reason" in the log: the alert). A failed mail stays listed
   (``frontdesk mail failed``, Admin → Email) until :func:`reprocess` runs it again.

A worker killed after ``receive`` stored the message but before the outcome was written leaves
the mail pending; the re-run finds its own message (``receive`` answers duplicate, and the
message's meta names this mail) and finishes the job: one message, never two.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy as email_policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from frontdesk import inbound
from frontdesk.attachments import store_attachment
from frontdesk.channels.email.addresses import (
    clean_message_id,
    client_id_for,
    normalize_address,
    parse_recipient,
)
from frontdesk.channels.email.parse import (
    ParsedEmail,
    UnparseableEmail,
    decode_header_value,
    parse_email,
)
from frontdesk.channels.email.quotes import strip_quotes
from frontdesk.channels.email.support import Target, find_support_address, resolve_target
from frontdesk.customers.actions import customer_by_email
from frontdesk.errors import Conflict, FrontdeskError, NotFound
from frontdesk.inbound import InboundContext, InboundMessage, InboundResult
from frontdesk.jobs.backoff import retry_delay
from frontdesk.jobs.registry import job, periodic
from frontdesk.store.database import Database
from frontdesk.store.models import (
    Attachment,
    Conversation,
    Customer,
    InboundMail,
    Message,
    OutboundEmail,
    Workspace,
    utcnow,
)

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

log = logging.getLogger(__name__)

PENDING, STORED, DUPLICATE, IGNORED, FAILED = "pending", "stored", "duplicate", "ignored", "failed"
STATUSES = (PENDING, STORED, DUPLICATE, IGNORED, FAILED)
SOURCES = ("smtp", "imap", "api")

# A worker holds a claimed mail this long (parsing, the bot and routing take seconds).
LEASE_SECONDS = 300
# The sweep re-enqueues mail still pending this long after it arrived.
SWEEP_AFTER_SECONDS = 60
SWEEP_BATCH = 200
# A reply whose original is still being processed waits for it (this long at a time, for at
# most the window), so that it joins the original's conversation instead of opening its own.
DEFERRED = "deferred"  # an outcome, never a stored status: the mail stays pending
DEFER_SECONDS = 2
DEFER_WINDOW_SECONDS = 600
# After a transient database error (deadlock, lock timeout, lost connection): the first wait.
RETRY_BASE_SECONDS = 1.0
# In-Reply-To and References ids looked up when threading (the most recent ones).
MAX_THREAD_IDS = 50
MAX_REASON_CHARS = 2000


# --------------------------------------------------------------------------- the mail log


def _storable(value: str, limit: int) -> str:
    """Text any database stores: no NUL, no lone surrogate, at most ``limit`` characters."""
    value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return value[:limit]


def peek_message_id(raw: bytes) -> str | None:
    """The Message-ID header of a raw mail, or None (never raises: this runs before the mail
    is safely stored)."""
    try:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:200_000]
        headers = BytesParser(policy=email_policy.compat32).parsebytes(head, headersonly=True)
        value = headers.get("Message-ID")
        cleaned = clean_message_id(str(value)) if value is not None else None
    except Exception:
        return None
    return _storable(cleaned, 998) if cleaned else None


def mail_subject(raw: bytes, limit: int = 120) -> str:
    """The decoded Subject of a raw mail, for lists ("" when there is none or it is
    unreadable)."""
    try:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:200_000]
        headers = BytesParser(policy=email_policy.compat32).parsebytes(head, headersonly=True)
        value = headers.get("Subject")
        if value is None:
            return ""
        subject = " ".join(decode_header_value(str(value)).split())
    except Exception:
        return ""
    return subject if len(subject) <= limit else subject[: limit - 1] + "…"


def accept_mail(
    db: Database,
    *,
    source: str,
    envelope_from: str,
    envelope_to: list[str],
    raw: bytes,
    workspace_id: int | None = None,
    status: str = PENDING,
    reason: str | None = None,
    size: int | None = None,
) -> InboundMail:
    """Write one email to the mail log and commit; ``process_mail`` is enqueued after the
    commit. Raises whatever the database raises: the caller must then refuse the mail
    temporarily (SMTP 451, IMAP: leave it unseen)."""
    if source not in SOURCES:
        raise ValueError(f"unknown mail source {source!r}")
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("raw must be the bytes of the mail")
    data = bytes(raw)
    mail = InboundMail(
        workspace_id=workspace_id,
        source=source,
        envelope_from=_storable(envelope_from or "", 320),
        envelope_to=[_storable(a, 320) for a in envelope_to[:100]],
        message_id_header=peek_message_id(data),
        subject=_storable(mail_subject(data, limit=300), 300),
        raw=data,
        size=size if size is not None else len(data),
        status=status,
        reason=reason,
        attempts=0,
        received_at=utcnow(),
    )
    with db.write() as session:
        session.add(mail)
        session.flush()
        runtime = session.info.get("runtime")
        if status == PENDING and runtime is not None:
            runtime.jobs.enqueue_after_commit(session, "process_mail", mail.id)
    if status == FAILED:
        log.error("inbound mail %s failed: %s", mail.id, reason)
    return mail


# --------------------------------------------------------------------------- claiming


@dataclass(frozen=True)
class Claimed:
    mail_id: int
    attempt: int
    raw: bytes
    envelope_from: str
    envelope_to: list[str]
    workspace_id: int | None
    received_at: datetime
    claimed_at: datetime


def _lease_free(now: datetime) -> Any:
    return or_(InboundMail.lease_until.is_(None), InboundMail.lease_until <= now)


def claim(runtime: Runtime, mail_id: int, now: datetime) -> Claimed | None:
    """Take the mail for processing (pending, lease free, attempts left), or None. A mail out
    of attempts is marked failed here."""
    max_attempts = runtime.settings.mail_process_max_attempts
    with runtime.db.write() as session:
        result = session.execute(
            update(InboundMail)
            .where(
                InboundMail.id == mail_id,
                InboundMail.status == PENDING,
                _lease_free(now),
                InboundMail.attempts < max_attempts,
            )
            .values(
                attempts=InboundMail.attempts + 1,
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            mail = session.get(InboundMail, mail_id, populate_existing=True)
            assert mail is not None
            return Claimed(
                mail.id,
                mail.attempts,
                bytes(mail.raw),
                mail.envelope_from,
                [str(a) for a in mail.envelope_to or []],
                mail.workspace_id,
                mail.received_at,
                now,
            )
        reason = (
            f"gave up after {max_attempts} attempts: processing never finished (the worker "
            "stopped each time); reprocess it once the cause is fixed"
        )
        given_up = session.execute(
            update(InboundMail)
            .where(
                InboundMail.id == mail_id,
                InboundMail.status == PENDING,
                _lease_free(now),
                InboundMail.attempts >= max_attempts,
            )
            .values(status=FAILED, reason=reason, lease_until=None, processed_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(given_up, "rowcount", 0) == 1:
            log.error("inbound mail %s failed: %s", mail_id, reason)
    return None


@dataclass
class Outcome:
    status: str
    reason: str | None = None
    workspace_id: int | None = None
    conversation_id: int | None = None
    message_id: int | None = None
    # None: not written yet; False: the lease had passed to another worker, nothing written
    recorded: bool | None = None


def _finish(session: Session, claimed: Claimed, outcome: Outcome) -> bool:
    """Write the outcome, unless the lease passed to another worker meanwhile."""
    values: dict[str, Any] = {
        "status": outcome.status,
        "reason": _storable(outcome.reason, MAX_REASON_CHARS) if outcome.reason else None,
        "lease_until": None,
        "processed_at": utcnow(),
        "conversation_id": outcome.conversation_id,
        "message_id": outcome.message_id,
    }
    if outcome.workspace_id is not None:
        values["workspace_id"] = outcome.workspace_id
    result = session.execute(
        update(InboundMail)
        .where(
            InboundMail.id == claimed.mail_id,
            InboundMail.status == PENDING,
            InboundMail.attempts == claimed.attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        log.warning("inbound mail %s changed hands while processing; outcome dropped", claimed)
        return False
    return True


def _record(runtime: Runtime, claimed: Claimed, outcome: Outcome) -> str:
    with runtime.db.write() as session:
        written = _finish(session, claimed, outcome)
    if not written:
        return "lost"
    _log_outcome(claimed.mail_id, outcome)
    return outcome.status


def _log_outcome(mail_id: int, outcome: Outcome) -> None:
    if outcome.status == FAILED:
        log.error("inbound mail %s failed: %s", mail_id, outcome.reason)
    elif outcome.status == IGNORED:
        log.info("inbound mail %s ignored: %s", mail_id, outcome.reason)
    elif outcome.status == DUPLICATE:
        log.info(
            "inbound mail %s is a duplicate of message %s (same Message-ID); stored once",
            mail_id,
            outcome.message_id,
        )
    else:
        log.info(
            "inbound mail %s stored as message %s in conversation %s",
            mail_id,
            outcome.message_id,
            outcome.conversation_id,
        )


# --------------------------------------------------------------------------- processing


def process_mail(runtime: Runtime, mail_id: int, *, now: datetime | None = None) -> str:
    """Claim and process one inbound mail; returns its new status, ``skipped`` when it was
    not claimable (done already, or another worker holds it), ``deferred`` (its original is
    still pending) or ``retrying`` (a database error) when it stays pending a little longer,
    ``lost`` when the lease ran out before the outcome could be written."""
    claimed = claim(runtime, mail_id, now or utcnow())
    if claimed is None:
        return "skipped"
    try:
        outcome = _process(runtime, claimed)
    except OperationalError as exc:
        # The database, not the mail: a deadlock, a lock timeout, a lost connection. Tried
        # again shortly (the attempt counts, so a mail that keeps failing ends up failed).
        return _retry_later(runtime, claimed, exc)
    except Exception as exc:
        log.exception("inbound mail %s: processing raised", mail_id)
        outcome = Outcome(FAILED, f"unexpected error: {type(exc).__name__}: {exc}")
        try:
            return _record(runtime, claimed, outcome)
        except Exception:
            # The database itself is failing: the lease runs out and the sweep tries again
            # (attempts are counted, so this ends).
            log.exception("inbound mail %s: could not record the failure", mail_id)
            return "lost"
    if outcome.recorded is not None:  # written with the attachments, in _complete
        return outcome.status if outcome.recorded else "lost"
    if outcome.status == DEFERRED:
        return _defer(runtime, claimed, outcome)
    return _record(runtime, claimed, outcome)


def _retry_later(runtime: Runtime, claimed: Claimed, error: Exception) -> str:
    """After a transient database error: pending again, retried after a short backoff; or
    failed once the attempts are used up."""
    reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    if claimed.attempt >= runtime.settings.mail_process_max_attempts:
        log.exception("inbound mail %s: database error on the last attempt", claimed.mail_id)
        try:
            return _record(
                runtime,
                claimed,
                Outcome(FAILED, f"gave up after {claimed.attempt} attempts: {reason}"),
            )
        except Exception:
            log.exception("inbound mail %s: could not record the failure", claimed.mail_id)
            return "lost"
    delay = retry_delay(claimed.attempt, RETRY_BASE_SECONDS)
    log.warning(
        "inbound mail %s: database error (attempt %d), retried in %.1fs: %s",
        claimed.mail_id,
        claimed.attempt,
        delay,
        reason,
    )
    try:
        with runtime.db.write() as session:
            result = session.execute(
                update(InboundMail)
                .where(
                    InboundMail.id == claimed.mail_id,
                    InboundMail.status == PENDING,
                    InboundMail.attempts == claimed.attempt,
                )
                .values(lease_until=utcnow() + timedelta(seconds=delay))
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                runtime.jobs.enqueue_after_commit(
                    session, "process_mail", claimed.mail_id, delay=delay + 0.2
                )
    except Exception:
        # the lease set by the claim runs out and the sweep takes it up again
        log.exception("inbound mail %s: could not schedule the retry", claimed.mail_id)
        return "lost"
    return "retrying"


def _defer(runtime: Runtime, claimed: Claimed, outcome: Outcome) -> str:
    """Put the mail back for a moment (the attempt not counted): it replies to a mail that
    is still pending."""
    with runtime.db.write() as session:
        result = session.execute(
            update(InboundMail)
            .where(
                InboundMail.id == claimed.mail_id,
                InboundMail.status == PENDING,
                InboundMail.attempts == claimed.attempt,
            )
            .values(
                attempts=InboundMail.attempts - 1,
                lease_until=claimed.claimed_at + timedelta(seconds=DEFER_SECONDS),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return "lost"
        runtime.jobs.enqueue_after_commit(
            session, "process_mail", claimed.mail_id, delay=DEFER_SECONDS + 0.5
        )
    log.info("inbound mail %s waits: %s", claimed.mail_id, outcome.reason)
    return DEFERRED


@job("process_mail")
def process_mail_job(mail_id: int) -> None:
    from frontdesk.runtime import current

    process_mail(current(), mail_id)


def _parse(runtime: Runtime, raw: bytes) -> ParsedEmail:
    return parse_email(raw, max_attachment_bytes=runtime.settings.attachment_max_bytes)


def _process(runtime: Runtime, claimed: Claimed) -> Outcome:
    try:
        parsed = _parse(runtime, claimed.raw)
    except UnparseableEmail as exc:
        with runtime.db.read() as session:
            target = resolve_target(
                session,
                claimed.envelope_to,
                runtime.settings.resolved_secret_key(),
                workspace_id=claimed.workspace_id,
            )
        return Outcome(
            FAILED,
            f"unparseable: {exc.reason}",
            workspace_id=target.workspace_id if target else claimed.workspace_id,
        )
    secret = runtime.settings.resolved_secret_key()
    recipients = [*claimed.envelope_to, *parsed.to, *parsed.cc, *parsed.delivered_to]
    with runtime.db.read() as session:
        target = resolve_target(session, recipients, secret, workspace_id=claimed.workspace_id)
        if target is None and claimed.workspace_id is not None:
            # accepted for a workspace whose address was deleted meanwhile: any workspace
            target = resolve_target(session, recipients, secret)
        sender = parsed.from_address or normalize_address(claimed.envelope_from)
        from_support = (
            bool(sender)
            and find_support_address(session, parse_recipient(sender, secret).address) is not None
        )
    workspace_id = target.workspace_id if target is not None else claimed.workspace_id
    if parsed.auto_reason:
        return Outcome(
            IGNORED,
            f"automatic mail ({parsed.auto_reason}): not answered, so that no mail loop starts",
            workspace_id=workspace_id,
        )
    if from_support:
        return Outcome(
            IGNORED,
            f"sent from our own support address {sender}: not answered (a mail loop)",
            workspace_id=workspace_id,
        )
    if target is None:
        listed = ", ".join(dict.fromkeys(a for a in recipients if a)) or "none"
        return Outcome(FAILED, f"no support address among the recipients ({listed[:500]})")
    if not sender:
        return Outcome(
            FAILED,
            "no sender address: the From: header is missing or not an email address",
            workspace_id=target.workspace_id,
        )
    with runtime.db.read() as session:
        thread = find_thread(session, target, sender, parsed)
    if thread is not None:
        conversation_id, customer_id = thread
    else:
        conversation_id = None
        customer_id = _customer_for(runtime, target.workspace_id, sender, parsed.from_name)
    with runtime.db.read() as session:
        waiting = (
            None if conversation_id is not None else _replied_pending(session, claimed, parsed)
        )
    if waiting is not None:
        return Outcome(DEFERRED, f"it replies to inbound mail {waiting}, not processed yet")
    return _deliver(runtime, claimed, parsed, target, customer_id, conversation_id)


def _replied_pending(session: Session, claimed: Claimed, parsed: ParsedEmail) -> int | None:
    """A mail this one replies to (In-Reply-To/References) that arrived recently and is still
    pending: processed first, it gives the reply its conversation."""
    ids = thread_ids(parsed)
    if not ids:
        return None
    since = claimed.claimed_at - timedelta(seconds=DEFER_WINDOW_SECONDS)
    found = session.scalar(
        select(InboundMail.id)
        .where(
            InboundMail.message_id_header.in_(ids),
            InboundMail.status == PENDING,
            InboundMail.id != claimed.mail_id,
            InboundMail.received_at >= since,
        )
        .limit(1)
    )
    return int(found) if found is not None else None


def _advisory_lock(session: Session, key: str) -> None:
    """On PostgreSQL, serialise find-or-create of one key across processes (SQLite's writes
    are serialised already)."""
    if session.get_bind().dialect.name == "postgresql":
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})


def _customer_for(runtime: Runtime, workspace_id: int, email: str, name: str) -> int:
    """The customer with this email in the workspace, created (name and email) if new. The
    agents' table is never consulted: a mail from an agent's address is a customer's mail."""
    with runtime.db.write() as session:
        _advisory_lock(session, f"customer:{workspace_id}:{email}")
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        customer = customer_by_email(session, workspace, email)
        if customer is None:
            customer = Customer(
                workspace_id=workspace_id,
                email=email[:320],
                name=_storable(name, 200) or None,
            )
            session.add(customer)
            session.flush()
        elif not customer.name and name:
            customer.name = _storable(name, 200)
        return customer.id


def thread_ids(parsed: ParsedEmail) -> list[str]:
    """The ids a reply names, the most telling first: In-Reply-To, then References from the
    most recent back."""
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    return list(dict.fromkeys(i for i in ids if i))[:MAX_THREAD_IDS]


def find_thread(
    session: Session, target: Target, sender: str, parsed: ParsedEmail
) -> tuple[int, int] | None:
    """(conversation id, customer id) of the conversation this mail continues, or None for a
    new one: the one its valid reply tag names, else the one an In-Reply-To/References id
    belongs to (an inbound email's message or an email we sent); in both cases only a
    conversation whose customer has the sender's address. (Two customers may share an address:
    a chat visitor who gave the address of an existing customer; the conversation's own
    customer is the one who replies.)"""

    def belongs(conversation_id: int | None) -> bool:
        if conversation_id is None:
            return False
        conversation = session.get(Conversation, conversation_id)
        return (
            conversation is not None
            and conversation.workspace_id == target.workspace_id
            and normalize_address(conversation.customer.email or "") == sender
        )

    def thread(conversation_id: int) -> tuple[int, int]:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.id, conversation.customer_id

    if target.tagged_conversation_id is not None and belongs(target.tagged_conversation_id):
        return thread(target.tagged_conversation_id)
    ids = thread_ids(parsed)
    if not ids:
        return None
    found: dict[str, int] = {}
    by_client_id = {client_id_for(i): i for i in ids}
    for in_conversation, client_id in session.execute(
        select(Message.conversation_id, Message.client_id).where(
            Message.workspace_id == target.workspace_id,
            Message.client_id.in_(list(by_client_id)),
        )
    ):
        if client_id is not None:
            found.setdefault(by_client_id[client_id], in_conversation)
    by_header = {f"<{i}>": i for i in ids}
    for conversation_id, header in session.execute(
        select(OutboundEmail.conversation_id, OutboundEmail.message_id_header).where(
            OutboundEmail.workspace_id == target.workspace_id,
            OutboundEmail.message_id_header.in_(list(by_header)),
        )
    ):
        if conversation_id is not None:
            found.setdefault(by_header[header], conversation_id)
    for message_id in ids:
        if belongs(found.get(message_id)):
            return thread(found[message_id])
    return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def message_text(parsed: ParsedEmail, max_chars: int) -> str:
    """What the bot, routing and the inbox read: the new text without quotes and signature;
    a placeholder when nothing is left; cut (and saying so) when over ``max_chars``. The full
    text stays in the message's meta and the raw mail in the mail log."""
    full = parsed.text or ""
    try:
        body = strip_quotes(full).strip()
    except Exception:
        log.exception("quote stripping failed; keeping the whole text")
        body = full.strip()
    body = body.replace("\x00", "")
    if not body:
        what = ["no text"]
        if parsed.attachments:
            what.append(_plural(len(parsed.attachments), "attachment"))
        elif full.strip():
            what.append("only the quoted earlier mail")
        body = f"({'; '.join(what)})"
    if len(body) > max_chars:
        note = (
            f"\n\n[Cut: this email is {len(body):,} characters long, over the limit of "
            f"{max_chars:,}; the full text is kept with the message.]"
        )
        body = body[: max(0, max_chars - len(note))].rstrip() + note
        body = body[:max_chars]
    return body


def _meta(parsed: ParsedEmail, claimed: Claimed) -> dict[str, Any]:
    return {
        "email": {
            "message_id": parsed.message_id,
            "subject": parsed.subject,
            "from": parsed.from_address,
            "from_name": parsed.from_name,
            "to": parsed.to,
            "cc": parsed.cc,
            "date": parsed.date.isoformat() if parsed.date else None,
            "full_text": parsed.text,
            "html": parsed.html,
            "inbound_mail_id": claimed.mail_id,
            "dropped": list(parsed.dropped),
            "attachments": len(parsed.attachments),
        }
    }


def store_attachments(
    session: Session, runtime: Runtime, message: Message, parsed: ParsedEmail
) -> int:
    """Store the mail's attachments on ``message``, those not stored yet (a re-run after a
    crash stores none twice). One the store refuses (type, size, quota) is listed in the
    message's ``meta.email.dropped``. Returns how many were stored now."""
    if not parsed.attachments:
        return 0
    have: dict[str, int] = {}
    for digest in session.scalars(
        select(Attachment.sha256).where(Attachment.message_id == message.id)
    ):
        have[digest] = have.get(digest, 0) + 1
    email_meta = dict((message.meta or {}).get("email") or {})
    dropped = list(email_meta.get("dropped") or [])
    stored = 0
    for item in parsed.attachments:
        digest = hashlib.sha256(item.data).hexdigest()
        if have.get(digest, 0) > 0:
            have[digest] -= 1
            continue
        try:
            store_attachment(
                session,
                runtime.settings,
                workspace_id=message.workspace_id,
                conversation_id=message.conversation_id,
                message_id=message.id,
                filename=item.filename,
                data=item.data,
            )
            stored += 1
        except FrontdeskError as exc:
            note = f"attachment {item.filename!r} was not stored: {exc.message}"
            if note not in dropped:
                dropped.append(note)
    if dropped != list(email_meta.get("dropped") or []):
        email_meta["dropped"] = dropped
        message.meta = {**(message.meta or {}), "email": email_meta}
    session.flush()
    return stored


class _EmailStep:
    """The first step after the message is stored: the conversation now answers by email
    (before the bot speaks, so that its answer goes out by email too), and the attachments
    are stored on the message."""

    def __init__(self, runtime: Runtime, parsed: ParsedEmail) -> None:
        self.runtime = runtime
        self.parsed = parsed

    def __call__(self, session: Session, ctx: InboundContext) -> None:
        conversation = session.get(Conversation, ctx.conversation_id)
        message = session.get(Message, ctx.message_id)
        assert conversation is not None and message is not None
        conversation.reply_by_email = True
        store_attachments(session, self.runtime, message, self.parsed)


def _subject(parsed: ParsedEmail) -> str | None:
    return " ".join(parsed.subject.split())[:300] or None


def _deliver(
    runtime: Runtime,
    claimed: Claimed,
    parsed: ParsedEmail,
    target: Target,
    customer_id: int,
    conversation_id: int | None,
) -> Outcome:
    settings = runtime.settings
    message = InboundMessage(
        workspace_id=target.workspace_id,
        channel="email",
        customer_id=customer_id,
        conversation_id=conversation_id,
        subject=_subject(parsed),
        text=message_text(parsed, settings.max_message_chars),
        client_id=client_id_for(parsed.message_id),
        meta=_meta(parsed, claimed),
    )
    result: InboundResult = inbound.receive(
        runtime.db,
        message,
        max_chars=settings.max_message_chars,
        # read at each call: other features add their steps to the one list
        steps=[("email", _EmailStep(runtime, parsed)), *inbound.PIPELINE],
    )
    return _complete(runtime, claimed, parsed, target, result)


def _complete(
    runtime: Runtime,
    claimed: Claimed,
    parsed: ParsedEmail,
    target: Target,
    result: InboundResult,
) -> Outcome:
    """After ``receive``: make sure the conversation answers by email and the attachments
    are there (the email step may have failed, or a crash came before it), and write the
    outcome, all in one transaction."""
    with runtime.db.write() as session:
        message = session.get(Message, result.message_id)
        if message is None:
            raise RuntimeError(f"message {result.message_id} vanished")
        own = ((message.meta or {}).get("email") or {}).get("inbound_mail_id") == claimed.mail_id
        outcome = Outcome(
            STORED if (own or not result.duplicate) else DUPLICATE,
            None,
            workspace_id=target.workspace_id,
            conversation_id=message.conversation_id,
            message_id=message.id,
        )
        if outcome.status == STORED:
            conversation = session.get(Conversation, message.conversation_id)
            assert conversation is not None
            conversation.reply_by_email = True
            store_attachments(session, runtime, message, parsed)
        else:
            outcome.reason = (
                f"the same Message-ID as inbound mail "
                f"{((message.meta or {}).get('email') or {}).get('inbound_mail_id')}"
                f" (<{parsed.message_id[:200]}>): stored once"
            )
        outcome.recorded = _finish(session, claimed, outcome)
    if outcome.recorded:
        _log_outcome(claimed.mail_id, outcome)
    return outcome


# --------------------------------------------------------------------------- sweep, reprocess


def sweep(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Enqueue ``process_mail`` for every mail pending over a minute whose lease is free
    (an enqueue lost while the queue was down, a worker killed mid-way)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=SWEEP_AFTER_SECONDS)
    with runtime.db.read() as session:
        ids = list(
            session.scalars(
                select(InboundMail.id)
                .where(
                    InboundMail.status == PENDING,
                    InboundMail.received_at <= cutoff,
                    _lease_free(now),
                )
                .order_by(InboundMail.id)
                .limit(SWEEP_BATCH)
            )
        )
    for mail_id in ids:
        runtime.jobs.enqueue("process_mail", mail_id)
    if ids:
        log.info("inbound mail sweep enqueued %d pending mails", len(ids))
    return len(ids)


@periodic("sweep_inbound_mail", minute="*")
def sweep_inbound_mail() -> None:
    from frontdesk.runtime import current

    sweep(current())


def access_mail(session: Session, mail_id: int, workspace_id: int | None = None) -> InboundMail:
    """The mail; with ``workspace_id``, NotFound for another workspace's (or an unassigned)
    mail, indistinguishable from a missing one."""
    mail = session.get(InboundMail, mail_id)
    if mail is None or (workspace_id is not None and mail.workspace_id != workspace_id):
        raise NotFound(f"Inbound mail {mail_id} was not found.")
    return mail


def reprocess(
    session: Session, mail_id: int, *, workspace_id: int | None = None, enqueue: bool = True
) -> InboundMail:
    """Put a failed mail back to pending with fresh attempts; ``process_mail`` is enqueued
    after the commit unless ``enqueue`` is False (the CLI runs it itself)."""
    mail = access_mail(session, mail_id, workspace_id)
    if mail.status != FAILED:
        raise Conflict(f"Inbound mail {mail_id} is {mail.status}; only failed mail is reprocessed.")
    if mail.size > len(mail.raw):
        raise Conflict(
            f"Inbound mail {mail_id} was too large to fetch ({mail.size} bytes): only its header "
            "is kept, so it cannot be processed. Raise FRONTDESK_MAIL_MAX_BYTES and mark it unread in "
            "the mailbox: the next poll fetches it whole."
        )
    mail.status = PENDING
    mail.attempts = 0
    mail.reason = None
    mail.lease_until = None
    mail.processed_at = None
    session.flush()
    runtime = session.info.get("runtime")
    if enqueue and runtime is not None:
        runtime.jobs.enqueue_after_commit(session, "process_mail", mail.id)
    return mail


def list_mails(
    session: Session,
    *,
    workspace_id: int | None = None,
    statuses: tuple[str, ...] = (),
    before_id: int | None = None,
    limit: int = 100,
) -> list[InboundMail]:
    """Mail log rows, newest first (the raw bytes are not loaded)."""
    from sqlalchemy.orm import defer

    query = select(InboundMail).options(defer(InboundMail.raw))
    if workspace_id is not None:
        query = query.where(InboundMail.workspace_id == workspace_id)
    if statuses:
        query = query.where(InboundMail.status.in_(statuses))
    if before_id is not None:
        query = query.where(InboundMail.id < before_id)
    return list(session.scalars(query.order_by(InboundMail.id.desc()).limit(limit)))


def count_by_status(session: Session, workspace_id: int | None = None) -> dict[str, int]:
    query = select(InboundMail.status, func.count()).group_by(InboundMail.status)
    if workspace_id is not None:
        query = query.where(InboundMail.workspace_id == workspace_id)
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(query):
        counts[str(status)] = int(count)
    return counts


def mail_summary(mail: InboundMail) -> dict[str, Any]:
    """A mail log row for lists (API, admin page, CLI)."""
    return {
        "id": mail.id,
        "source": mail.source,
        "status": mail.status,
        "reason": mail.reason,
        "envelope_from": mail.envelope_from,
        "envelope_to": list(mail.envelope_to or []),
        "message_id_header": mail.message_id_header,
        "subject": mail.subject,
        "size": mail.size,
        "attempts": mail.attempts,
        "conversation_id": mail.conversation_id,
        "message_id": mail.message_id,
        "received_at": mail.received_at,
        "processed_at": mail.processed_at,
    }


def pending_older_than(session: Session, seconds: float, now: datetime | None = None) -> int:
    """How many mails have waited longer than ``seconds`` (for health checks and tests)."""
    cutoff = (now or utcnow()) - timedelta(seconds=seconds)
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(and_(InboundMail.status == PENDING, InboundMail.received_at <= cutoff))
        )
        or 0
    )

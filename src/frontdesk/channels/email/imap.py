"""IMAP polling: the other way in, for a mailbox at a mail provider.

``FRONTDESK_IMAP_URL=imap://user:pass@host:port/INBOX`` (or ``imaps://`` for TLS; ``imap://``
upgrades with STARTTLS when the server offers it) is polled every
``FRONTDESK_IMAP_POLL_SECONDS`` by a periodic job, and by ``frontdesk mail poll``:

1. ``UID SEARCH UNSEEN``, then for each mail ``UID FETCH (BODY.PEEK[])`` (PEEK: fetching does
   not mark it seen);
2. :func:`~frontdesk.channels.email.ingest.accept_mail` writes it to the mail log and commits;
3. only then ``UID STORE +FLAGS (\\Seen)``.

A crash between 2 and 3 leaves the mail unseen, so the next poll fetches it again; the mail
log already has it (same Message-ID and size from this source), so it is only marked seen, and
if it did get a second row the Message-ID de-duplication stores it once. A mail over
``FRONTDESK_MAIL_MAX_BYTES`` is not downloaded: its header is logged as a failed mail ("too
large") and it is marked seen, so it is never fetched again (RELIABILITY row 19).

When the user name is an email address (the mailbox's own, e.g. ``support@acme.example``) it
is the mail's envelope recipient: mail that reached the mailbox by Bcc still finds its
workspace.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select

from frontdesk.channels.email.ingest import FAILED, accept_mail, peek_message_id
from frontdesk.jobs.registry import periodic
from frontdesk.store.models import InboundMail

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

__all__ = ["ImapConfig", "ImapError", "PollResult", "parse_imap_url", "poll_mailbox"]

log = logging.getLogger(__name__)

POLL_BATCH = 200  # mails fetched per poll; the rest come with the next one
TIMEOUT_SECONDS = 60.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_poll_lock = threading.Lock()
_last_poll: dict[str, float] = {}


class ImapError(Exception):
    """The mailbox could not be reached or read; ``str()`` says why."""


@dataclass(frozen=True)
class ImapConfig:
    tls: bool
    host: str
    port: int
    user: str
    password: str
    mailbox: str

    @property
    def label(self) -> str:
        """The URL without the password, for logs and messages."""
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


def parse_imap_url(url: str) -> ImapConfig:
    """``imap[s]://user:pass@host[:port][/mailbox]`` → :class:`ImapConfig`; ValueError with
    what is wrong otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("FRONTDESK_IMAP_URL must start with imap:// or imaps://")
    if not parts.hostname:
        raise ValueError("FRONTDESK_IMAP_URL has no host (imap://user:pass@host:port/INBOX)")
    if not parts.username:
        raise ValueError("FRONTDESK_IMAP_URL has no user name (imap://user:pass@host/INBOX)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("FRONTDESK_IMAP_URL has an invalid port") from None
    tls = parts.scheme == "imaps"
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapConfig(
        tls=tls,
        host=parts.hostname,
        port=port or (993 if tls else 143),
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        mailbox=mailbox,
    )


@dataclass
class PollResult:
    mailbox: str
    unseen: int = 0  # UNSEEN mails found
    accepted: int = 0  # written to the mail log
    already_logged: int = 0  # fetched again after a crash: in the log already, marked seen
    too_large: int = 0  # over mail_max_bytes: logged as failed from its header, marked seen
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.mailbox}: {self.unseen} unseen, {self.accepted} accepted, "
            f"{self.already_logged} already in the mail log, {self.too_large} too large"
        )
        if self.errors:
            text += f"; {len(self.errors)} errors: " + "; ".join(self.errors[:5])
        return text


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple[str, Any], what: str) -> Any:
    status, data = response
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{what} failed: {status} {detail}".strip())
    return data


def _literal(data: list[Any], item: bytes) -> bytes | None:
    """The literal of a FETCH response item (``BODY[]``, ``BODY[HEADER]``), None if absent."""
    for entry in data:
        if isinstance(entry, tuple) and len(entry) >= 2 and item in entry[0]:
            return bytes(entry[1])
    return None


def _size(data: list[Any]) -> int | None:
    for entry in data:
        head = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(head, bytes):
            match = _SIZE.search(head)
            if match:
                return int(match[1])
    return None


def _connect(config: ImapConfig) -> imaplib.IMAP4:
    if config.tls:
        return imaplib.IMAP4_SSL(
            config.host,
            config.port,
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
    client = imaplib.IMAP4(config.host, config.port, timeout=TIMEOUT_SECONDS)
    if "STARTTLS" in client.capabilities:
        client.starttls(ssl.create_default_context())
    return client


def _in_log(runtime: Runtime, message_id: str | None, size: int, *, whole: bool = True) -> bool:
    """Whether this mailbox's mail is in the mail log already (a re-poll after a crash).
    ``whole``: only a row with the whole mail counts, not one of a too-large mail logged from
    its header (fetched again once the limit was raised and it was marked unread, it is taken
    whole)."""
    if not message_id:
        return False
    query = select(InboundMail.id).where(
        InboundMail.source == "imap",
        InboundMail.message_id_header == message_id,
        InboundMail.size == size,
    )
    if whole:
        query = query.where(func.length(InboundMail.raw) == InboundMail.size)
    with runtime.db.read() as session:
        return session.scalar(query.limit(1)) is not None


def _mark_seen(client: imaplib.IMAP4, uid: str, result: PollResult) -> None:
    try:
        _check(client.uid("STORE", uid, "+FLAGS", "(\\Seen)"), f"marking mail {uid} seen")
    except (imaplib.IMAP4.error, OSError, ImapError) as exc:
        # logged already: the next poll finds it in the mail log and marks it again
        result.errors.append(str(exc))
        log.warning("IMAP: %s", exc)


def _take(
    runtime: Runtime, client: imaplib.IMAP4, config: ImapConfig, uid: str, result: PollResult
) -> None:
    limit = runtime.settings.mail_max_bytes
    envelope_to = [config.user] if "@" in config.user else []
    size = _size(_check(client.uid("FETCH", uid, "(RFC822.SIZE)"), f"FETCH {uid} size"))
    if size is not None and size > limit:
        header = _literal(
            _check(client.uid("FETCH", uid, "(BODY.PEEK[HEADER])"), f"FETCH {uid} header"),
            b"BODY[HEADER]",
        )
        header = header or b""
        if not _in_log(runtime, peek_message_id(header), size, whole=False):
            accept_mail(
                runtime.db,
                source="imap",
                envelope_from="",
                envelope_to=envelope_to,
                raw=header,
                size=size,
                status=FAILED,
                reason=(
                    f"too large: {size} bytes, over FRONTDESK_MAIL_MAX_BYTES ({limit}); only "
                    f"its header is kept here, the mail stays in {config.label}"
                ),
            )
        result.too_large += 1
        _mark_seen(client, uid, result)
        return
    raw = _literal(_check(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid}"), b"BODY[]")
    if raw is None:
        raise ImapError(f"FETCH {uid} returned no message body")
    if _in_log(runtime, peek_message_id(raw), len(raw)):
        result.already_logged += 1
    else:
        # Raises when the database is down: the mail stays unseen for the next poll.
        accept_mail(runtime.db, source="imap", envelope_from="", envelope_to=envelope_to, raw=raw)
        result.accepted += 1
    _mark_seen(client, uid, result)


def poll_mailbox(
    runtime: Runtime, *, url: str | None = None, limit: int = POLL_BATCH
) -> PollResult:
    """Fetch the mailbox's unseen mail into the mail log (see the module's docstring).
    Raises :class:`ImapError` when the mailbox cannot be reached, logged into or selected,
    and ValueError for a malformed URL."""
    config = parse_imap_url(url if url is not None else runtime.settings.imap_url)
    result = PollResult(mailbox=config.label)
    try:
        client = _connect(config)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise ImapError(f"cannot connect to {config.label}: {exc}") from exc
    try:
        try:
            client.login(config.user, config.password)
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"login to {config.label} refused: {exc}") from exc
        _check(client.select(_quote(config.mailbox)), f"selecting {config.mailbox}")
        data = _check(client.uid("SEARCH", "UNSEEN"), "SEARCH UNSEEN")
        uids = [u.decode("ascii") for u in (data[0] or b"").split()] if data else []
        result.unseen = len(uids)
        for uid in uids[:limit]:
            try:
                _take(runtime, client, config, uid, result)
            except imaplib.IMAP4.abort:
                raise  # the connection is gone: the rest waits for the next poll
            except (imaplib.IMAP4.error, ImapError) as exc:
                result.errors.append(str(exc))
                log.warning("IMAP %s: %s", config.label, exc)
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise ImapError(f"connection to {config.label} lost: {exc}") from exc
    finally:
        try:
            client.shutdown()
        except OSError:
            pass
    if result.unseen or result.errors:
        log.info("IMAP poll %s", result.summary())
    return result


def poll_for_a_minute(
    runtime: Runtime, *, clock: Any = time.monotonic, sleep: Any = time.sleep
) -> int:
    """The periodic job's body: poll now if ``imap_poll_seconds`` have passed since the last
    poll of this process, and again within this minute when the interval is shorter than
    one. Returns how many polls ran. One poll at a time per process."""
    url = runtime.settings.imap_url
    if not url:
        return 0
    interval = max(5, runtime.settings.imap_poll_seconds)
    if not _poll_lock.acquire(blocking=False):
        return 0
    polls = 0
    try:
        started = clock()
        last = _last_poll.get(url)
        if last is not None and started - last < interval - 1:
            return 0
        while True:
            _last_poll[url] = clock()
            try:
                poll_mailbox(runtime)
            except (ImapError, ValueError) as exc:
                log.error("IMAP poll failed: %s", exc)
            except Exception:  # the database: unseen mail waits for the next poll
                log.exception("IMAP poll failed")
            polls += 1
            wait = _last_poll[url] + interval - clock()
            if clock() + wait - started >= 55:
                return polls
            sleep(max(0.0, wait))
    finally:
        _poll_lock.release()


@periodic("poll_imap", minute="*")
def poll_imap() -> None:
    from frontdesk.runtime import current

    poll_for_a_minute(current())

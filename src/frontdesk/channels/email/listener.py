"""The built-in SMTP listener: ``frontdesk serve --smtp-port N`` receives support mail itself.

An aiosmtpd server on 127.0.0.1:N runs in a thread of the web server (a mail relay such as
Postfix, or the provider's inbound route, hands mail to it). The database is the same
(``FRONTDESK_DATABASE_URL``), and what it accepts is processed by the job queue.

- ``RCPT TO``: only support addresses (``support@`` or ``support+tag@``) are accepted; any other
  address is refused there, ``550 5.1.1 <addr>: no such mailbox here``, so a mistyped address
  bounces to its sender at once.
- ``DATA``: the raw mail is written to the mail log and committed *before* the 250 (see
  :func:`frontdesk.channels.email.ingest.accept_mail`); if that write fails the answer is
  ``451`` and the sending server tries again later. One envelope to addresses of two
  workspaces becomes one mail log row per workspace.
- Size: over ``FRONTDESK_MAIL_MAX_BYTES`` is refused with ``552`` (announced in EHLO as SIZE).
- Whatever arrives (garbage, broken MIME, a handler error) never stops the listener: the mail
  is stored and fails in processing (listed in ``frontdesk mail failed``), or the client gets a
  clear 4xx/5xx reply.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from frontdesk.channels.email.addresses import parse_recipient
from frontdesk.channels.email.ingest import accept_mail
from frontdesk.channels.email.support import find_support_address

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

__all__ = ["MAX_LINE_BYTES", "MAX_RECIPIENTS", "MailListener"]

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
# RFC 5321 allows 1,000 octets a line, but mail with longer lines is common and harmless:
# accept up to this (the whole mail is bounded by mail_max_bytes anyway).
MAX_LINE_BYTES = 1_000_000


class _SMTP(SMTP):
    """aiosmtpd's server, with long lines allowed and clearer size errors."""

    line_length_limit = MAX_LINE_BYTES

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("552 Error:"):
            status = (
                f"552 5.3.4 Message too big: this server accepts at most "
                f"{self.data_size_limit} bytes a message"
            )
        elif isinstance(status, str) and status.startswith("500 Line too long"):
            status = f"500 5.5.2 Line too long: at most {MAX_LINE_BYTES} bytes a line"
        await super().push(status)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)


class _Handler:
    """The aiosmtpd hooks. Database work runs in worker threads, never in the event loop."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _workspace_of(self, address: str) -> int | None:
        recipient = parse_recipient(address, self.runtime.settings.resolved_secret_key())
        if not recipient.address:
            return None
        with self.runtime.db.read() as session:
            row = find_support_address(session, recipient.address)
            return row.workspace_id if row is not None else None

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        shown = address[:320]
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return f"452 4.5.3 Too many recipients: at most {MAX_RECIPIENTS} a message"
        try:
            workspace_id = await asyncio.to_thread(self._workspace_of, address)
        except Exception:
            log.exception("SMTP listener: could not look up recipient %r", shown)
            return "451 4.3.0 Temporary failure looking up the mailbox; try again later"
        if workspace_id is None:
            return f"550 5.1.1 <{shown}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    def _accept(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> list[int]:
        groups: dict[int | None, list[str]] = {}
        for address in rcpt_tos:
            try:
                workspace_id = self._workspace_of(address)
            except Exception:
                workspace_id = None  # processing resolves it again
            groups.setdefault(workspace_id, []).append(address)
        ids = []
        for workspace_id, addresses in groups.items():
            mail = accept_mail(
                self.runtime.db,
                source="smtp",
                envelope_from=mail_from,
                envelope_to=addresses,
                raw=raw,
                workspace_id=workspace_id,
            )
            ids.append(mail.id)
        return ids

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):  # only with decode_data, which this server does not use
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            ids = await asyncio.to_thread(
                self._accept, str(envelope.mail_from or ""), list(envelope.rcpt_tos), raw
            )
        except Exception:
            log.exception(
                "SMTP listener: could not store a mail of %d bytes from %r; answered 451",
                len(raw),
                str(envelope.mail_from or "")[:320],
            )
            return "451 4.3.0 The message could not be stored; try again later"
        return f"250 2.0.0 OK: queued as {' '.join(str(i) for i in ids)}"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("SMTP listener: session error", exc_info=error)
        return "421 4.3.0 Internal error; try again later"


def _discard(controller: Any) -> None:
    """Release what a controller that failed to start holds (its loop, its thread)."""
    try:
        if controller.loop.is_running():
            controller.stop(no_assert=True)
            return
        thread = getattr(controller, "_thread", None)
        if thread is not None:
            thread.join(timeout=5)
        if not controller.loop.is_closed():
            controller.loop.close()
    except Exception:
        log.debug("SMTP listener: cleaning up after a failed start", exc_info=True)


class MailListener:
    """The SMTP listener of one process, started and stopped with the web server."""

    def __init__(self, runtime: Runtime, port: int, *, host: str = "127.0.0.1") -> None:
        if not 0 < port < 65536:
            raise ValueError(f"SMTP port {port} is not a port number (1 to 65535)")
        self.runtime = runtime
        self.host = host
        self.port = port
        self._controller: Any = None

    def start(self) -> None:
        # A port in use fails here at once (the controller would wait for its ready timeout).
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((self.host, self.port))
        mail_log = logging.getLogger("mail.log")  # aiosmtpd logs every command at INFO
        if mail_log.level == logging.NOTSET:
            mail_log.setLevel(logging.WARNING)
        controller = _Controller(
            _Handler(self.runtime),
            hostname=self.host,
            port=self.port,
            server_hostname="frontdesk.localhost",
            ident="Frontdesk ESMTP",
            data_size_limit=self.runtime.settings.mail_max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
        )
        try:
            controller.start()
        except BaseException:
            _discard(controller)
            raise
        self._controller = controller
        log.info("SMTP listener on %s:%d", self.host, self.port)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            log.info("SMTP listener on %s:%d stopped", self.host, self.port)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> MailListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

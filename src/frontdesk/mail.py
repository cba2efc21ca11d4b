"""Sending mail through ``settings.smtp_url``: system emails (invitations, password resets) with
:func:`send_mail`, and the email channel's outbox with :func:`smtp_send`. With no relay
configured (development, demo) mail is written to the log instead."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from frontdesk.config import Settings

log = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The relay refused the message or could not be reached; ``str()`` says why."""


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def smtp_send(settings: Settings, message: EmailMessage, *, timeout: float = 15.0) -> bool:
    """Hand ``message`` to the relay. Returns False when no relay is configured (the message is
    logged instead); raises :class:`MailNotSent` when the relay fails or refuses it."""
    if not settings.smtp_url:
        log.info("email (no smtp_url set, not sent)\n%s", message.as_string()[:20_000])
        return False
    url = urlsplit(settings.smtp_url)
    host = url.hostname or "localhost"
    try:
        if url.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout)
        elif url.scheme == "smtp":
            smtp = smtplib.SMTP(host, url.port or 25, timeout=timeout)
        else:
            raise MailNotSent("smtp_url must start with smtp:// or smtps://")
        with smtp:
            smtp.ehlo()
            if url.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"{type(exc).__name__}: {exc}"[:500] + f" (relay {host})") from exc
    return True


def send_mail(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text system email. Never raises: a failure is logged and ``False``
    returned, so a mail outage cannot break a login page or reveal which addresses exist."""
    message = build_message(settings, to, subject, body)
    try:
        smtp_send(settings, message)
    except MailNotSent as exc:
        log.error("could not send email to %s: %s", to, exc)
        return False
    return True

"""System emails (invitations, password resets): sent through ``settings.smtp_url``, or written
to the log when no relay is configured (development, demo)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from frontdesk.config import Settings

log = logging.getLogger(__name__)


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def send_mail(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text email. Never raises: a failure is logged and ``False`` returned, so a
    mail outage cannot break a login page or reveal which addresses exist."""
    message = build_message(settings, to, subject, body)
    if not settings.smtp_url:
        log.info("email (no smtp_url set, not sent)\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
        return True
    url = urlsplit(settings.smtp_url)
    host = url.hostname or "localhost"
    try:
        if url.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=15)
        elif url.scheme == "smtp":
            smtp = smtplib.SMTP(host, url.port or 25, timeout=15)
        else:
            log.error("smtp_url must start with smtp:// or smtps://; email to %s not sent", to)
            return False
        with smtp:
            smtp.ehlo()
            if url.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send email to %s via %s: %s", to, host, exc)
        return False
    return True

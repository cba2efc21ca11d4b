"""CSAT surveys (F32): after each resolution, ask the customer for a 1-5 rating.

:func:`on_resolution` listens to ``status_changed`` → ``resolved`` (in the transaction of the
change) and, unless a limit below says no, creates one :class:`~frontdesk.store.models.Survey`
per resolution (``resolution_event_id`` is unique) with who resolved it: ``bot`` (the bot's
``bot_resolved``: the status change with actor bot) or ``agent`` (a person in the inbox, or an
integration through the API: the assignee is recorded). Then:

* a chat (``channel`` chat) gets a rating card in the widget, after the last message at the
  time (``after_seq``); the widget asks for it when the conversation's status changes;
* an email or web-form ticket, or a chat that continues by email (``reply_by_email``), gets an
  email through the outbox (:func:`frontdesk.channels.email.outbound.queue_email`, kind
  ``survey``) with five one-click links ``/survey/{token}/{rating}``. The token is the
  survey's id signed with the server's secret (itsdangerous, salt ``survey``) and expires
  after ``csat_link_days``; the survey's state makes it single use.

Limits: no survey when ``csat_enabled`` is off, for a customer who answered one in the last
``csat_cooldown_days``, for a conversation that got one less than ``csat_reresolve_minutes``
ago (reopened and resolved again), or when there is no way to ask (no email address; an API
conversation). A new survey of a conversation expires its earlier unanswered one. A resolution
by the system (an automatic close) asks nothing.

Answers append ``survey_answered`` {survey_id, rating, resolved_by, agent_id, team_id, channel,
via} so reports can compare automated and human CSAT, and a line in the agents' transcript.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from frontdesk.channels.email.outbound import queue_email
from frontdesk.config import Settings, get_settings
from frontdesk.conversations.actions import do_post_system_message
from frontdesk.conversations.events import Actor, append_event, on_event
from frontdesk.domain.conversation import clean_text
from frontdesk.errors import Conflict, FrontdeskError, InvalidInput, NotFound
from frontdesk.language.detect import SUPPORTED
from frontdesk.store.models import (
    Conversation,
    ConversationEvent,
    Customer,
    Survey,
    Workspace,
    utcnow,
)

__all__ = [
    "RATINGS",
    "AlreadyCommented",
    "NotAnswered",
    "SurveyLinkExpired",
    "SurveyLinkInvalid",
    "answer_survey",
    "comment_survey",
    "on_resolution",
    "read_survey_token",
    "send_survey",
    "survey_language",
    "survey_link",
    "survey_token",
    "widget_payload",
]

log = logging.getLogger(__name__)

SALT: Final = "survey"
RATINGS: Final = (1, 2, 3, 4, 5)
MAX_COMMENT_CHARS: Final = 2000
EMAIL_CHANNELS: Final = ("email", "web_form")
FALLBACK_BASE_URL: Final = "http://127.0.0.1:8000"


class SurveyLinkInvalid(FrontdeskError):
    status = 400
    code = "invalid_link"


class SurveyLinkExpired(FrontdeskError):
    status = 410
    code = "expired"


class NotAnswered(Conflict):
    """A comment for a survey that has no rating yet."""


class AlreadyCommented(Conflict):
    """A second comment."""


def _settings(session: Session) -> Settings:
    runtime = session.info.get("runtime")
    return runtime.settings if runtime is not None else get_settings()


# Tokens -------------------------------------------------------------------------------------


def _serializer(secret: str, now: float | None) -> URLSafeTimedSerializer:
    if now is None:
        return URLSafeTimedSerializer(secret, salt=SALT)
    fixed = int(now)

    class FixedClock(TimestampSigner):
        def get_timestamp(self) -> int:
            return fixed

    return URLSafeTimedSerializer(secret, salt=SALT, signer=FixedClock)


def survey_token(secret: str, survey_id: int, *, now: datetime | None = None) -> str:
    """The signed token of a survey's links (``now`` fixes the issue time, for tests)."""
    stamp = now.timestamp() if now is not None else None
    return str(_serializer(secret, stamp).dumps({"s": survey_id}))


def read_survey_token(
    secret: str, token: str, *, max_age_days: int, now: datetime | None = None
) -> int:
    """The survey id in ``token``; SurveyLinkInvalid if it was altered or is not ours,
    SurveyLinkExpired once ``max_age_days`` have passed."""
    stamp = now.timestamp() if now is not None else None
    if not token or len(token) > 300:
        raise SurveyLinkInvalid("This survey link is not valid.")
    try:
        data = _serializer(secret, stamp).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise SurveyLinkExpired("This survey link has expired.") from None
    except BadSignature:
        raise SurveyLinkInvalid("This survey link is not valid.") from None
    survey_id = data.get("s") if isinstance(data, dict) else None
    if not isinstance(survey_id, int) or isinstance(survey_id, bool) or survey_id < 1:
        raise SurveyLinkInvalid("This survey link is not valid.")
    return survey_id


def public_base_url(settings: Settings) -> str:
    """Where survey links point: FRONTDESK_BASE_URL (emails have no request to take it from)."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    log.warning(
        "FRONTDESK_BASE_URL is not set: survey links in emails point to %s", FALLBACK_BASE_URL
    )
    return FALLBACK_BASE_URL


def survey_link(settings: Settings, survey_id: int, rating: int) -> str:
    token = survey_token(settings.resolved_secret_key(), survey_id)
    return f"{public_base_url(settings)}/survey/{token}/{rating}"


# Texts of the email -------------------------------------------------------------------------

EMAIL_TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "subject": "How did we do? {subject}",
        "hello": "Hello {name},",
        "hello_anonymous": "Hello,",
        "resolved": "your conversation with {workspace} has been resolved.",
        "question": "How would you rate the help you received?",
        "rating_1": "Very dissatisfied",
        "rating_2": "Dissatisfied",
        "rating_3": "Neither",
        "rating_4": "Satisfied",
        "rating_5": "Very satisfied",
        "one_click": "One click records your answer.",
        "reply": "Still need help? Just reply to this email.",
    },
    "th": {
        "subject": "เราให้บริการเป็นอย่างไรบ้าง {subject}",
        "hello": "สวัสดีคุณ {name}",
        "hello_anonymous": "สวัสดี",
        "resolved": "การสนทนาของคุณกับ {workspace} ได้รับการแก้ไขแล้ว",
        "question": "คุณพอใจกับความช่วยเหลือที่ได้รับมากน้อยเพียงใด",
        "rating_1": "ไม่พอใจมาก",
        "rating_2": "ไม่พอใจ",
        "rating_3": "เฉย ๆ",
        "rating_4": "พอใจ",
        "rating_5": "พอใจมาก",
        "one_click": "คลิกครั้งเดียวเพื่อบันทึกคำตอบของคุณ",
        "reply": "ยังต้องการความช่วยเหลือ? ตอบกลับอีเมลนี้ได้เลย",
    },
    "el": {
        "subject": "Πώς τα πήγαμε; {subject}",
        "hello": "Γεια σας {name},",
        "hello_anonymous": "Γεια σας,",
        "resolved": "η συνομιλία σας με την {workspace} επιλύθηκε.",
        "question": "Πώς θα αξιολογούσατε τη βοήθεια που λάβατε;",
        "rating_1": "Πολύ δυσαρεστημένος/η",
        "rating_2": "Δυσαρεστημένος/η",
        "rating_3": "Ουδέτερα",
        "rating_4": "Ικανοποιημένος/η",
        "rating_5": "Πολύ ικανοποιημένος/η",
        "one_click": "Ένα κλικ καταγράφει την απάντησή σας.",
        "reply": "Χρειάζεστε ακόμη βοήθεια; Απλώς απαντήστε σε αυτό το email.",
    },
    "zh": {
        "subject": "我们的服务如何？{subject}",
        "hello": "{name}，您好：",
        "hello_anonymous": "您好：",
        "resolved": "您与 {workspace} 的对话已解决。",
        "question": "您对获得的帮助满意吗？",
        "rating_1": "非常不满意",
        "rating_2": "不满意",
        "rating_3": "一般",
        "rating_4": "满意",
        "rating_5": "非常满意",
        "one_click": "点击一次即可记录您的回答。",
        "reply": "仍需帮助？直接回复此邮件即可。",
    },
    "id": {
        "subject": "Bagaimana layanan kami? {subject}",
        "hello": "Halo {name},",
        "hello_anonymous": "Halo,",
        "resolved": "percakapan Anda dengan {workspace} telah diselesaikan.",
        "question": "Bagaimana Anda menilai bantuan yang Anda terima?",
        "rating_1": "Sangat tidak puas",
        "rating_2": "Tidak puas",
        "rating_3": "Biasa saja",
        "rating_4": "Puas",
        "rating_5": "Sangat puas",
        "one_click": "Satu klik mencatat jawaban Anda.",
        "reply": "Masih butuh bantuan? Cukup balas email ini.",
    },
    "es": {
        "subject": "¿Qué tal lo hicimos? {subject}",
        "hello": "Hola, {name}:",
        "hello_anonymous": "Hola:",
        "resolved": "tu conversación con {workspace} se ha resuelto.",
        "question": "¿Cómo valorarías la ayuda que recibiste?",
        "rating_1": "Muy insatisfecho",
        "rating_2": "Insatisfecho",
        "rating_3": "Indiferente",
        "rating_4": "Satisfecho",
        "rating_5": "Muy satisfecho",
        "one_click": "Un clic registra tu respuesta.",
        "reply": "¿Aún necesitas ayuda? Responde a este correo.",
    },
    "de": {
        "subject": "Wie waren wir? {subject}",
        "hello": "Hallo {name},",
        "hello_anonymous": "Hallo,",
        "resolved": "Ihr Anliegen bei {workspace} wurde gelöst.",
        "question": "Wie zufrieden sind Sie mit der Hilfe, die Sie erhalten haben?",
        "rating_1": "Sehr unzufrieden",
        "rating_2": "Unzufrieden",
        "rating_3": "Teils, teils",
        "rating_4": "Zufrieden",
        "rating_5": "Sehr zufrieden",
        "one_click": "Ein Klick speichert Ihre Antwort.",
        "reply": "Brauchen Sie noch Hilfe? Antworten Sie einfach auf diese E-Mail.",
    },
}


def survey_language(conversation: Conversation, workspace: Workspace | None) -> str:
    """A language the survey speaks: the conversation's, the customer's, the workspace's, en."""
    for code in (
        conversation.language,
        conversation.customer.language,
        workspace.default_language if workspace else None,
    ):
        primary = (code or "").strip().lower().replace("_", "-").split("-", 1)[0]
        if primary in SUPPORTED:
            return primary
    return "en"


@dataclass(frozen=True)
class SurveyEmail:
    subject: str
    text: str
    html: str


def survey_email(
    *,
    language: str,
    customer_name: str | None,
    workspace_name: str,
    subject: str | None,
    links: dict[int, str],
) -> SurveyEmail:
    """The email: plain text and HTML, every value escaped in the HTML (names are data)."""
    t = EMAIL_TEXTS.get(language, EMAIL_TEXTS["en"])
    first = (customer_name or "").split()
    hello = t["hello"].format(name=first[0]) if first else t["hello_anonymous"]
    resolved = t["resolved"].format(workspace=workspace_name)
    topic = " ".join((subject or "").split())[:150]
    title = t["subject"].format(subject=f"({topic})" if topic else "").strip()
    lines = [f"{hello} {resolved}", "", t["question"], ""]
    for rating in RATINGS:
        lines.append(f"{rating} – {t[f'rating_{rating}']}: {links[rating]}")
    lines += ["", t["one_click"], t["reply"]]
    buttons = "".join(
        '<td style="padding:4px">'
        f'<a href="{html.escape(links[r], quote=True)}" '
        'style="display:inline-block;padding:10px 14px;border:1px solid #0f766e;'
        'border-radius:8px;color:#0f766e;text-decoration:none;font-weight:600;text-align:center">'
        f'{r}<br><span style="font-size:12px;font-weight:400">'
        f"{html.escape(t[f'rating_{r}'])}</span></a></td>"
        for r in RATINGS
    )
    body_html = (
        f'<!doctype html><html lang="{language}"><body style="font-family:sans-serif;'
        'color:#111827;line-height:1.5">'
        f"<p>{html.escape(hello)} {html.escape(resolved)}</p>"
        f"<p><strong>{html.escape(t['question'])}</strong></p>"
        f'<table role="presentation"><tr>{buttons}</tr></table>'
        f'<p style="color:#6b7280;font-size:13px">{html.escape(t["one_click"])} '
        f"{html.escape(t['reply'])}</p></body></html>"
    )
    return SurveyEmail(title, "\n".join(lines), body_html)


# Creating surveys ---------------------------------------------------------------------------


def _channel(conversation: Conversation) -> str | None:
    if conversation.channel in EMAIL_CHANNELS or conversation.reply_by_email:
        return "email"
    if conversation.channel == "chat":
        return "widget"
    return None  # an API conversation: the integration that made it owns its follow-ups


def _skip(conversation: Conversation, why: str) -> None:
    log.info("conversation %s resolved: no survey (%s)", conversation.id, why)


def send_survey(
    session: Session, event: ConversationEvent, resolved_by: str, *, now: datetime | None = None
) -> Survey | None:
    """The survey of the resolution ``event``, created and sent; None when a limit says no."""
    settings = _settings(session)
    conversation = session.get(Conversation, event.conversation_id)
    if conversation is None or not settings.csat_enabled:
        return None
    customer: Customer = conversation.customer
    channel = _channel(conversation)
    if channel is None:
        _skip(conversation, f"{conversation.channel} conversations are not surveyed")
        return None
    if channel == "email" and not customer.email:
        _skip(conversation, "the customer has no email address")
        return None
    now = now or utcnow()
    if settings.csat_cooldown_days > 0:
        since = now - timedelta(days=settings.csat_cooldown_days)
        answered = session.scalar(
            select(Survey.id)
            .where(Survey.customer_id == customer.id, Survey.answered_at >= since)
            .limit(1)
        )
        if answered is not None:
            _skip(conversation, f"the customer answered survey {answered} recently")
            return None
    if settings.csat_reresolve_minutes > 0:
        since = now - timedelta(minutes=settings.csat_reresolve_minutes)
        recent = session.scalar(
            select(Survey.id)
            .where(Survey.conversation_id == conversation.id, Survey.sent_at >= since)
            .limit(1)
        )
        if recent is not None:
            _skip(conversation, f"survey {recent} was sent for it minutes ago")
            return None
    if resolved_by == "bot":
        agent_id = None
    elif event.actor_type == "agent":
        agent_id = event.actor_id
    else:
        agent_id = conversation.assignee_id
    survey = Survey(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        customer_id=customer.id,
        kind="csat",
        channel=channel,
        resolved_by=resolved_by,
        agent_id=agent_id,
        team_id=conversation.team_id,
        resolution_event_id=event.id,
        status="sent",
        after_seq=conversation.last_seq,
        sent_at=now,
    )
    session.add(survey)
    session.flush()
    if channel == "email":
        try:
            mail = _survey_mail(session, settings, conversation, survey)
        except Exception:
            # Not in a savepoint: a savepoint's release would run the after-commit work of the
            # whole transaction early (frontdesk.store.database), so undo by hand.
            session.delete(survey)
            session.flush()
            raise
        queue_email(
            session,
            conversation,
            kind="survey",
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
        )
    # The conversation's earlier unanswered survey is replaced: one card, one set of links.
    session.execute(
        update(Survey)
        .where(
            Survey.conversation_id == conversation.id,
            Survey.status == "sent",
            Survey.id != survey.id,
        )
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    log.info(
        "conversation %s resolved by %s: survey %s sent (%s)",
        conversation.id,
        resolved_by,
        survey.id,
        channel,
    )
    return survey


def _survey_mail(
    session: Session, settings: Settings, conversation: Conversation, survey: Survey
) -> SurveyEmail:
    workspace = session.get(Workspace, conversation.workspace_id)
    return survey_email(
        language=survey_language(conversation, workspace),
        customer_name=conversation.customer.name,
        workspace_name=workspace.name if workspace else "",
        subject=conversation.subject,
        links={r: survey_link(settings, survey.id, r) for r in RATINGS},
    )


@on_event
def on_resolution(session: Session, event: ConversationEvent) -> None:
    """Listener (registered by importing this module; the runtime does): a survey for each
    resolution by the bot or a person. A failure to make the survey is logged and never
    undoes the resolution (a database error fails the transaction, as anywhere else)."""
    if event.type != "status_changed" or event.conversation_id is None:
        return
    data = event.data or {}
    if data.get("to") != "resolved" or data.get("from") == "resolved":
        return
    resolved_by = {"bot": "bot", "agent": "agent", "api": "agent"}.get(event.actor_type)
    if resolved_by is None:
        return  # the system (an automatic close) or the customer: nobody to rate
    try:
        send_survey(session, event, resolved_by)
    except SQLAlchemyError:
        raise  # the transaction is broken: it fails as a whole, as any database error would
    except Exception:
        log.exception("conversation %s: the survey could not be sent", event.conversation_id)


# Answers ------------------------------------------------------------------------------------


def is_expired(survey: Survey, settings: Settings, now: datetime) -> bool:
    return survey.status == "expired" or (
        survey.status == "sent" and survey.sent_at + timedelta(days=settings.csat_link_days) < now
    )


def check_rating(rating: object) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise InvalidInput(
            "The rating must be a whole number from 1 to 5.",
            details=[{"field": "rating", "message": "1 to 5"}],
        )
    return rating


def answer_survey(
    session: Session,
    survey_id: int,
    rating: int,
    *,
    via: str,
    workspace_id: int | None = None,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Survey:
    """Store the rating of an unanswered survey (once: a second answer is a Conflict, an
    expired survey a SurveyLinkExpired). ``workspace_id``/``customer_id`` restrict whose
    survey it may be (NotFound otherwise)."""
    rating = check_rating(rating)
    settings = _settings(session)
    now = now or utcnow()
    survey = session.get(Survey, survey_id)
    conversation = session.get(Conversation, survey.conversation_id) if survey else None
    if (
        survey is None
        or conversation is None
        or (workspace_id is not None and survey.workspace_id != workspace_id)
        or (customer_id is not None and survey.customer_id != customer_id)
    ):
        raise NotFound("This survey was not found.")
    if survey.status == "answered":
        raise Conflict(f"This survey was answered already (rating {survey.rating} of 5).")
    if is_expired(survey, settings, now):
        raise SurveyLinkExpired("This survey has expired.")
    claimed = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status == "sent")
        .values(status="answered", rating=rating, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # another click won the race
        raise Conflict("This survey was answered already.")
    session.refresh(survey)
    append_event(
        session,
        workspace_id=survey.workspace_id,
        conversation_id=survey.conversation_id,
        type="survey_answered",
        actor=Actor("customer", survey.customer_id),
        data={
            "survey_id": survey.id,
            "rating": rating,
            "resolved_by": survey.resolved_by,
            "agent_id": survey.agent_id,
            "team_id": survey.team_id,
            "channel": survey.channel,
            "via": via,
        },
    )
    do_post_system_message(
        session,
        conversation,
        body=f"The customer rated the {'bot' if survey.resolved_by == 'bot' else 'agent'}'s "
        f"resolution {rating} out of 5.",
        meta={"survey": {"id": survey.id, "rating": rating}},
    )
    return survey


def comment_survey(
    session: Session,
    survey_id: int,
    comment: str,
    *,
    via: str,
    workspace_id: int | None = None,
    customer_id: int | None = None,
) -> Survey:
    """Add the optional comment of an answered survey, once."""
    text = clean_text(comment, max_chars=MAX_COMMENT_CHARS, what="Comment")
    survey = session.get(Survey, survey_id)
    if (
        survey is None
        or (workspace_id is not None and survey.workspace_id != workspace_id)
        or (customer_id is not None and survey.customer_id != customer_id)
    ):
        raise NotFound("This survey was not found.")
    if survey.status != "answered":
        raise NotAnswered("Rate first: the comment goes with a rating.")
    claimed = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status == "answered", Survey.comment.is_(None))
        .values(comment=text)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise AlreadyCommented("A comment was sent for this survey already.")
    session.refresh(survey)
    conversation = session.get(Conversation, survey.conversation_id)
    append_event(
        session,
        workspace_id=survey.workspace_id,
        conversation_id=survey.conversation_id,
        type="survey_commented",
        actor=Actor("customer", survey.customer_id),
        data={"survey_id": survey.id, "rating": survey.rating, "via": via},
    )
    if conversation is not None:
        do_post_system_message(
            session,
            conversation,
            body=f"The customer's comment on the survey: {text}",
            meta={"survey": {"id": survey.id, "comment": True}},
        )
    return survey


def widget_payload(survey: Survey, settings: Settings, now: datetime) -> dict[str, Any]:
    """What the widget shows of a survey (no agent or team ids)."""
    expired = is_expired(survey, settings, now)
    return {
        "id": survey.id,
        "conversation_id": survey.conversation_id,
        "after_seq": survey.after_seq,
        "status": "expired" if expired else survey.status,
        "rating": survey.rating,
        "commented": survey.comment is not None,
    }


def conversation_surveys(
    session: Session, workspace_id: int, customer_id: int, conversation_id: int
) -> list[Survey]:
    """The customer's answerable or answered surveys of one conversation, oldest first."""
    return list(
        session.scalars(
            select(Survey)
            .where(
                Survey.workspace_id == workspace_id,
                Survey.customer_id == customer_id,
                Survey.conversation_id == conversation_id,
                Survey.status.in_(("sent", "answered")),
            )
            .order_by(Survey.id)
        )
    )

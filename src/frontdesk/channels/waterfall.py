"""The waterfall (F22): bot → a live agent if one is online → a ticket followed up by email.

When a chat is handed to a person (a guardrail's or the bot's handoff, or a chat in a
workspace without a bot) routing decides where it goes and appends ``routed``. If that left
the chat without an agent *and* nobody who could take it is online (an active, online member
of its team; of the workspace when it went to triage), :func:`on_routed` (an ``on_event``
listener, in the routing step's transaction) tells the customer, in their language:

* when a person will answer: the next opening of the workspace's business hours
  (:class:`~frontdesk.domain.business_hours.BusinessHours`), or "as soon as someone is
  available" when it is open and simply nobody is online;
* that the answer will also come by email, when the customer's address is known (the
  conversation gets ``reply_by_email`` at once); otherwise the message asks for it and the
  widget shows an email field under it (``meta.bot.kind == "waterfall"``, ``ask_email``).

:func:`save_email` (``POST /widget/v1/{slug}/conversations/{id}/email``) validates the address,
stores it on the customer, sets ``reply_by_email`` and confirms in the chat ("We'll reply to
ADDRESS"): that confirmation is the first email of the thread, with the conversation's signed
reply-to, so the customer's answer lands back here. From then on the conversation is a ticket:
the agent's later reply reaches the customer by email
(:mod:`frontdesk.channels.email.replies`), and the customer's email reply joins it.

Events: ``waterfall_started`` {opens_at, email_known, team_id} and ``reply_by_email_enabled``
{email, source}. A conversation goes down the waterfall once (``bot_state["waterfall"]``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.bot.phrases import phrase
from frontdesk.channels.chat import conversation_summary, customer_conversation
from frontdesk.channels.email.addresses import normalize_address
from frontdesk.conversations.actions import do_post_bot_message
from frontdesk.conversations.events import BOT, Actor, append_event, on_event
from frontdesk.conversations.payloads import conversation_payload, customer_visible_payload
from frontdesk.customers.actions import do_update_customer
from frontdesk.domain.business_hours import BusinessHours
from frontdesk.errors import Conflict, InvalidInput
from frontdesk.language.detect import SUPPORTED
from frontdesk.live import publish_after_commit, workspace_channel
from frontdesk.store.database import Database
from frontdesk.store.models import (
    Agent,
    Conversation,
    ConversationEvent,
    Message,
    TeamMember,
    Workspace,
    utcnow,
)

__all__ = [
    "MONTHS",
    "WEEKDAYS",
    "clean_email",
    "enable_reply_by_email",
    "format_opening",
    "nobody_online",
    "on_routed",
    "save_email",
    "start_waterfall",
    "team_away",
]

log = logging.getLogger(__name__)

MAX_EMAIL_CHARS: Final = 320

# The days of the week, Monday first, in every supported language.
WEEKDAYS: Final[dict[str, tuple[str, ...]]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "th": ("วันจันทร์", "วันอังคาร", "วันพุธ", "วันพฤหัสบดี", "วันศุกร์", "วันเสาร์", "วันอาทิตย์"),
    "el": ("Δευτέρα", "Τρίτη", "Τετάρτη", "Πέμπτη", "Παρασκευή", "Σάββατο", "Κυριακή"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
assert set(WEEKDAYS) == set(SUPPORTED)

# The months, January first, in the form a date takes (Greek: the genitive).
MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "th": (
        "มกราคม",
        "กุมภาพันธ์",
        "มีนาคม",
        "เมษายน",
        "พฤษภาคม",
        "มิถุนายน",
        "กรกฎาคม",
        "สิงหาคม",
        "กันยายน",
        "ตุลาคม",
        "พฤศจิกายน",
        "ธันวาคม",
    ),
    "el": (
        "Ιανουαρίου",
        "Φεβρουαρίου",
        "Μαρτίου",
        "Απριλίου",
        "Μαΐου",
        "Ιουνίου",
        "Ιουλίου",
        "Αυγούστου",
        "Σεπτεμβρίου",
        "Οκτωβρίου",
        "Νοεμβρίου",
        "Δεκεμβρίου",
    ),
    "zh": tuple(f"{m}月" for m in range(1, 13)),
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}
assert set(MONTHS) == set(SUPPORTED)

# How each language writes "Monday 2 February, 09:00".
_DATE_FORMATS: Final[dict[str, str]] = {
    "en": "{weekday} {day} {month}, {time}",
    "th": "{weekday}ที่ {day} {month} เวลา {time} น.",
    "el": "{weekday} {day} {month}, {time}",
    "zh": "{month}{day}日（{weekday}）{time}",
    "id": "{weekday}, {day} {month}, pukul {time}",
    "es": "{weekday} {day} de {month}, a las {time}",
    "de": "{weekday}, {day}. {month}, {time} Uhr",
}

# The clock of the listener; tests fix it.
clock: Callable[[], datetime] = utcnow


def _language(conversation: Conversation, workspace: Workspace) -> str:
    language = conversation.language or conversation.customer.language or workspace.default_language
    return language if language in WEEKDAYS else "en"


def format_opening(moment: datetime, hours: BusinessHours, language: str) -> str:
    """``Monday 2 February, 09:00 (Europe/Berlin)``, ``lunes 2 de febrero, a las 09:00
    (Europe/Berlin)``: as ``language`` writes a date, in the workspace's timezone (named, so
    a customer elsewhere knows which 09:00). The next opening is days away at most, so the
    year is left out."""
    language = language if language in _DATE_FORMATS else "en"
    local = moment.astimezone(hours.zone)
    when = _DATE_FORMATS[language].format(
        weekday=WEEKDAYS[language][local.weekday()],
        day=local.day,
        month=MONTHS[language][local.month - 1],
        time=f"{local:%H:%M}",
    )
    return f"{when} ({hours.timezone})"


def nobody_online(session: Session, workspace_id: int, team_id: int | None) -> bool:
    """No active agent is online who could take the conversation: a member of ``team_id``, or
    anyone in the workspace when no team has it (triage). Agents online but at capacity do
    count as online: the conversation waits in their queue and is live-chat soon."""
    query = select(Agent.id).where(
        Agent.workspace_id == workspace_id, Agent.is_active, Agent.availability == "online"
    )
    if team_id is not None:
        query = query.join(TeamMember, TeamMember.agent_id == Agent.id).where(
            TeamMember.team_id == team_id
        )
    return session.scalar(query.limit(1)) is None


def team_away(session: Session, workspace: Workspace, now: datetime) -> bool:
    """Nobody answers chats now: outside the workspace's business hours, or no agent online."""
    hours = BusinessHours.from_settings(workspace.settings or {})
    return hours.next_opening(now) > now or nobody_online(session, workspace.id, None)


def enable_reply_by_email(
    session: Session, conversation: Conversation, *, email: str, actor: Actor, source: str
) -> bool:
    """From now on the agents' replies also go to ``email`` (F22). Returns False if they did
    already. (A conversation-level change with its event, as the ``do_*`` actions make.)"""
    if conversation.reply_by_email:
        return False
    conversation.reply_by_email = True
    conversation.updated_at = utcnow()
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="reply_by_email_enabled",
        actor=actor,
        data={"email": email, "source": source},
    )
    publish_after_commit(
        session,
        workspace_channel(conversation.workspace_id),
        {
            "type": "conversation.updated",
            "change": "reply_by_email",
            "conversation": conversation_payload(conversation),
        },
    )
    return True


def start_waterfall(session: Session, conversation: Conversation, *, now: datetime) -> Message:
    """Tell the customer when a person will answer and how the answer will reach them."""
    workspace = session.get(Workspace, conversation.workspace_id)
    assert workspace is not None
    language = _language(conversation, workspace)
    hours = BusinessHours.from_settings(workspace.settings or {})
    opening = hours.next_opening(now)
    closed = opening > now
    parts = [
        phrase(language, "waterfall_closed", when=format_opening(opening, hours, language))
        if closed
        else phrase(language, "waterfall_open")
    ]
    email = normalize_address(conversation.customer.email or "")
    if email:
        parts.append(phrase(language, "waterfall_email_known", email=email))
    else:
        parts.append(phrase(language, "waterfall_ask_email"))
    opens_at = opening.isoformat() if closed else None
    state = dict(conversation.bot_state or {})
    state["waterfall"] = {"at": now.isoformat(), "opens_at": opens_at, "email": email or None}
    conversation.bot_state = state
    message = do_post_bot_message(
        session,
        conversation,
        body=" ".join(parts),
        meta={
            "bot": {
                "kind": "waterfall",
                "language": language,
                "opens_at": opens_at,
                "ask_email": not email,
            }
        },
        introduction=phrase(language, "intro"),
    )
    append_event(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="waterfall_started",
        actor=BOT,
        data={"opens_at": opens_at, "email_known": bool(email), "team_id": conversation.team_id},
    )
    if email:
        enable_reply_by_email(session, conversation, email=email, actor=BOT, source="waterfall")
    return message


@on_event
def on_routed(session: Session, event: ConversationEvent) -> None:
    """Listener: a chat routed without an agent while nobody who could take it is online."""
    if event.type != "routed" or event.conversation_id is None:
        return
    if (event.data or {}).get("agent_id") is not None:
        return
    conversation = session.get(Conversation, event.conversation_id)
    if (
        conversation is None
        or conversation.channel != "chat"
        or conversation.assignee_id is not None
        or conversation.status == "closed"
        or (conversation.bot_state or {}).get("waterfall")
    ):
        return
    if not nobody_online(session, conversation.workspace_id, conversation.team_id):
        return
    start_waterfall(session, conversation, now=clock())


def _last_confirmation(session: Session, conversation: Conversation) -> Message | None:
    recent = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.author_type == "bot")
        .order_by(Message.seq.desc())
        .limit(20)
    )
    return next(
        (m for m in recent if ((m.meta or {}).get("bot") or {}).get("kind") == "waterfall_email"),
        None,
    )


def clean_email(raw: Any) -> str:
    """One plain email address, lower-cased; InvalidInput for anything else (a name with it,
    two addresses, header tricks, spaces)."""
    if not isinstance(raw, str) or len(raw) > MAX_EMAIL_CHARS:
        raise InvalidInput("Give one email address, such as ana@example.com.")
    email = normalize_address(raw.strip())
    if not email or raw.strip().lower() != email:
        raise InvalidInput(
            f"{raw.strip()[:80]!r} is not an email address; write one such as ana@example.com."
        )
    return email


def save_email(
    db: Database, workspace_id: int, customer_id: int, conversation_id: int, raw: Any
) -> dict[str, Any]:
    """The customer's answer to the waterfall's "leave your email": validated, stored on the
    customer, ``reply_by_email`` set, confirmed in the chat (and, by that, by email).

    Errors change nothing: InvalidInput for anything that is not one email address, NotFound
    for a conversation that is not this customer's, Conflict when the chat did not ask."""
    email = clean_email(raw)
    with db.write() as session:
        conversation = customer_conversation(session, workspace_id, customer_id, conversation_id)
        waterfall = (conversation.bot_state or {}).get("waterfall")
        if not waterfall or conversation.channel != "chat":
            raise Conflict("This chat does not ask for an email address.")
        if conversation.status == "closed":
            raise Conflict("This chat is closed; start a new one.")
        customer = conversation.customer
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        language = _language(conversation, workspace)
        if customer.email == email and conversation.reply_by_email and waterfall.get("email"):
            # The same address again (a double click, a retry): confirmed already.
            confirmation = _last_confirmation(session, conversation)
        else:
            actor = Actor("customer", customer.id)
            do_update_customer(session, customer, actor=actor, email=email)
            enable_reply_by_email(session, conversation, email=email, actor=actor, source="widget")
            state = dict(conversation.bot_state or {})
            state["waterfall"] = {**waterfall, "email": email}
            conversation.bot_state = state
            confirmation = do_post_bot_message(
                session,
                conversation,
                body=phrase(language, "waterfall_email_saved", email=email),
                meta={"bot": {"kind": "waterfall_email", "language": language, "email": email}},
            )
        return {
            "email": email,
            "conversation": conversation_summary(conversation),
            "message": customer_visible_payload(confirmation, author_name="Bot")
            if confirmation is not None
            else None,
        }

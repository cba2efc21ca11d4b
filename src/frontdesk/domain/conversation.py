"""Plain vocabulary of conversations: states, priorities, channels, and text rules."""

from __future__ import annotations

from typing import Final, Literal

from frontdesk.errors import InvalidInput

Status = Literal["open", "pending", "snoozed", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["chat", "email", "web_form", "api"]

STATUSES: Final = ("open", "pending", "snoozed", "resolved", "closed")
PRIORITIES: Final = ("low", "normal", "high", "urgent")
CHANNELS: Final = ("chat", "email", "web_form", "api")
# Channels whose conversations are tickets: answered by email, always routed to a person.
TICKET_CHANNELS: Final = ("email", "web_form")
# Statuses a new customer message moves back to open (F24: a reply reopens).
REOPENED_BY_CUSTOMER: Final = frozenset({"pending", "snoozed", "resolved"})
PRIORITY_RANK: Final = {p: i for i, p in enumerate(PRIORITIES)}


def clean_text(text: str, *, max_chars: int, what: str = "Message") -> str:
    """Normalise a message body; reject empty, oversized or binary text with a clear message."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text.")
    if "\x00" in text:
        raise InvalidInput(f"{what} contains a NUL character; send plain text.")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(f"{what} is empty.")
    if len(text) > max_chars:
        raise InvalidInput(f"{what} is too long: {len(text)} characters, the limit is {max_chars}.")
    return text


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    return status


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InvalidInput(f"Unknown priority {priority!r}; use one of {', '.join(PRIORITIES)}.")
    return priority


def preview(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

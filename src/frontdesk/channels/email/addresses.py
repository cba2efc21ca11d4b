"""Email addresses and ids of the email channel.

Every email we send carries a per-conversation reply-to, ``support+c42-k3m9x2q7pa@acme.example``:
the support address with a tag naming the conversation, signed with the server's secret key
(HMAC), so a reply lands back in conversation 42 and a forged tag (``+c43-...``) is worthless.
Message-IDs of inbound mail become the message's ``client_id``, which is how a duplicate delivery
is stored once (the same mechanism as the widget's resends).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

SIGNATURE_CHARS = 10
_TAG = re.compile(r"^c(?P<id>[1-9][0-9]{0,17})-(?P<sig>[a-z2-7]{10})$")
# A pragmatic address check: one @, no spaces or angle brackets, a dotted or local domain.
_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)


def normalize_address(address: str) -> str:
    """``"Ana <Ana@Example.COM> "`` → ``ana@example.com``; "" when it is not an address."""
    _, addr = parseaddr(address or "")
    addr = addr.strip().lower()
    # parseaddr quietly joins "a@exa mple.com" into a valid-looking address: refuse rewrites
    if addr not in (address or "").lower():
        return ""
    return addr if _ADDRESS.match(addr) else ""


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain


def _signature(secret: str, base: str, conversation_id: int) -> str:
    digest = hmac.new(
        secret.encode(), f"reply:{base}:{conversation_id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_CHARS]


def reply_address(support_address: str, conversation_id: int, secret: str) -> str:
    """The reply-to of every email about ``conversation_id`` sent from ``support_address``."""
    base = normalize_address(support_address)
    local, domain = split_address(base)
    tag = f"c{conversation_id}-{_signature(secret, base, conversation_id)}"
    return f"{local}+{tag}@{domain}"


@dataclass(frozen=True)
class Recipient:
    """A recipient address, resolved: the support address it reaches and, when it carries a
    valid reply tag, the conversation it names."""

    address: str  # the support address, without the tag
    conversation_id: int | None
    tag_invalid: bool = False  # a tag was there but its signature is wrong


def parse_recipient(address: str, secret: str) -> Recipient:
    addr = normalize_address(address)
    local, domain = split_address(addr)
    base_local, plus, tag = local.partition("+")
    base = f"{base_local}@{domain}" if domain else addr
    if not plus:
        return Recipient(base, None)
    match = _TAG.match(tag)
    if match is None:
        # support+anything@ is still the support address (sub-addressing), just no conversation
        return Recipient(base, None)
    conversation_id = int(match["id"])
    if not hmac.compare_digest(match["sig"], _signature(secret, base, conversation_id)):
        return Recipient(base, None, tag_invalid=True)
    return Recipient(base, conversation_id)


def new_message_id(domain: str) -> str:
    """A fresh RFC 5322 Message-ID, ``<uuid@domain>``."""
    return f"<{uuid.uuid4().hex}@{domain or 'frontdesk.localhost'}>"


def clean_message_id(value: str | None) -> str | None:
    """The id inside ``<...>`` (whitespace and brackets dropped); None if there is none."""
    if not value:
        return None
    value = "".join(value.split())
    if value.startswith("<") and ">" in value:
        value = value[1 : value.index(">")]
    value = value.strip("<>")
    return value[:900] or None


def message_id_list(value: str | None) -> list[str]:
    """The ids of a References or In-Reply-To header, in order."""
    if not value:
        return []
    found = re.findall(r"<([^<>\s]{1,900})>", value)
    if not found:
        single = clean_message_id(value)
        return [single] if single else []
    return found


def client_id_for(message_id: str) -> str:
    """The message ``client_id`` of an inbound email (60 characters, within the column's 64)."""
    return "mid:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()[:56]


def recipients(header_values: list[str]) -> list[str]:
    """Every normalised address in To/Cc/Delivered-To style headers."""
    found = []
    for _, addr in getaddresses(header_values):
        normalized = normalize_address(addr)
        if normalized and normalized not in found:
            found.append(normalized)
    return found

"""Support addresses: the email addresses a workspace receives support mail at.

Each address belongs to one workspace (unique across all of them, stored in lowercase); one of
a workspace's addresses is its default, the From: of the emails it sends. Mail to any other
address is refused by the SMTP listener at RCPT. ``support+anything@`` reaches ``support@``
(sub-addressing), which is how the signed per-conversation reply-to addresses come back, so a
support address itself may not contain a ``+``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.channels.email.addresses import Recipient, normalize_address, parse_recipient
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.store.models import SupportAddress

__all__ = [
    "MAX_ADDRESS_CHARS",
    "Target",
    "access_support_address",
    "clean_support_address",
    "create_support_address",
    "delete_support_address",
    "find_support_address",
    "list_support_addresses",
    "resolve_target",
    "update_support_address",
]

# Room for the reply tag (+c<id>-<signature>, up to 30 characters) within 320.
MAX_ADDRESS_CHARS = 280
MAX_NAME_CHARS = 200


def clean_support_address(address: str) -> str:
    """The address in lowercase, or InvalidInput saying what is wrong with it."""
    if not isinstance(address, str):
        raise InvalidInput("The address must be text.")
    raw = address.strip()
    clean = normalize_address(raw)
    if not clean or clean != raw.lower():
        raise InvalidInput(f"{address!r} is not an email address (write it as name@domain).")
    if len(clean) > MAX_ADDRESS_CHARS:
        raise InvalidInput(f"The address is longer than {MAX_ADDRESS_CHARS} characters.")
    if "+" in clean.partition("@")[0]:
        raise InvalidInput(
            "A support address may not contain '+': support+...@ is how replies come back "
            "to their conversation."
        )
    return clean


def _clean_name(name: str) -> str:
    if not isinstance(name, str):
        raise InvalidInput("The name must be text.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"The name is longer than {MAX_NAME_CHARS} characters.")
    if any(c in name for c in '<>"\\'):
        raise InvalidInput('The name may not contain < > " or \\.')
    return name


def list_support_addresses(session: Session, workspace_id: int) -> list[SupportAddress]:
    """The workspace's addresses, the default first."""
    return list(
        session.scalars(
            select(SupportAddress)
            .where(SupportAddress.workspace_id == workspace_id)
            .order_by(SupportAddress.is_default.desc(), SupportAddress.id)
        )
    )


def access_support_address(session: Session, workspace_id: int, address_id: int) -> SupportAddress:
    row = session.get(SupportAddress, address_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(f"Support address {address_id} was not found.")
    return row


def find_support_address(session: Session, address: str) -> SupportAddress | None:
    """The support address ``address`` is (exactly, in any case), None if it is none."""
    clean = normalize_address(address)
    if not clean:
        return None
    return session.scalar(select(SupportAddress).where(SupportAddress.address == clean))


def _make_default(session: Session, row: SupportAddress) -> None:
    for other in list_support_addresses(session, row.workspace_id):
        other.is_default = other.id == row.id
    session.flush()


def create_support_address(
    session: Session,
    workspace_id: int,
    address: str,
    *,
    name: str = "",
    is_default: bool = False,
) -> SupportAddress:
    """Add an address to the workspace; its first address is its default whatever
    ``is_default`` says. Conflict when any workspace has it already."""
    clean = clean_support_address(address)
    display = _clean_name(name)
    if find_support_address(session, clean) is not None:
        raise Conflict(f"{clean} is already a support address.")
    first = not list_support_addresses(session, workspace_id)
    row = SupportAddress(
        workspace_id=workspace_id, address=clean, name=display, is_default=first or is_default
    )
    session.add(row)
    session.flush()
    if row.is_default and not first:
        _make_default(session, row)
    return row


def update_support_address(
    session: Session,
    row: SupportAddress,
    *,
    name: str | None = None,
    is_default: bool | None = None,
) -> SupportAddress:
    """Rename, or make it the default (``is_default=False`` on the default is refused: make
    another address the default instead)."""
    if name is not None:
        row.name = _clean_name(name)
    if is_default is True and not row.is_default:
        _make_default(session, row)
    elif is_default is False and row.is_default:
        raise Conflict(
            f"{row.address} is the default address; make another address the default instead."
        )
    session.flush()
    return row


def delete_support_address(session: Session, row: SupportAddress) -> None:
    """Remove the address (mail to it is refused from now on). If it was the default, the
    oldest remaining address becomes the default."""
    workspace_id, was_default = row.workspace_id, row.is_default
    session.delete(row)
    session.flush()
    if was_default:
        rest = list_support_addresses(session, workspace_id)
        if rest:
            _make_default(session, rest[0])


@dataclass(frozen=True)
class Target:
    """Where an inbound email goes: the workspace (through one of its support addresses) and,
    when a recipient carried a valid reply tag, the conversation it names."""

    workspace_id: int
    address: str  # the support address reached
    tagged_conversation_id: int | None = None
    forged_tag: bool = False  # a recipient had a reply tag whose signature is wrong


def resolve_target(
    session: Session,
    addresses: Iterable[str],
    secret: str,
    *,
    workspace_id: int | None = None,
) -> Target | None:
    """The first of ``addresses`` (envelope recipients first, then To/Cc/Delivered-To) that
    reaches a support address, with or without a reply tag. With ``workspace_id`` only that
    workspace's addresses count. A valid tag on any recipient of the same workspace names the
    conversation."""
    resolved: list[tuple[Recipient, SupportAddress]] = []
    seen: set[str] = set()
    for address in addresses:
        recipient = parse_recipient(address, secret)
        key = normalize_address(address)
        if not recipient.address or key in seen:
            continue
        seen.add(key)
        row = find_support_address(session, recipient.address)
        if row is None or (workspace_id is not None and row.workspace_id != workspace_id):
            continue
        resolved.append((recipient, row))
    if not resolved:
        return None
    first = resolved[0][1]
    same = [(r, row) for r, row in resolved if row.workspace_id == first.workspace_id]
    tagged = next((r for r, _ in same if r.conversation_id is not None), None)
    forged = any(r.tag_invalid for r, _ in same)
    return Target(
        workspace_id=first.workspace_id,
        address=first.address,
        tagged_conversation_id=tagged.conversation_id if tagged is not None else None,
        forged_tag=forged,
    )

"""Cursor pagination shared by every list of the API.

A list is ordered by a unique integer key (an id, or a message's seq). A page asks the database
for ``limit + 1`` rows after the cursor's key: the extra row only says whether another page
exists. The cursor handed out is opaque: the list's name and the last key, signed with an HMAC
of the server's secret key, so a cursor that was edited, truncated or taken from another list
is refused with a 422 rather than silently jumping somewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Annotated, Protocol, TypeVar

from fastapi import Query

from frontdesk.errors import InvalidInput
from frontdesk.runtime import Runtime

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=300,
        description="The next_cursor of the previous page, unchanged. Leave out for the first.",
    ),
]

Row = TypeVar("Row")

_BAD_CURSOR = "The cursor is not valid: pass the next_cursor of the previous page unchanged."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(runtime: Runtime, payload: bytes) -> bytes:
    key = hashlib.sha256(
        b"frontdesk api cursor\0" + runtime.settings.resolved_secret_key().encode()
    )
    return hmac.new(key.digest(), payload, hashlib.sha256).digest()[:16]


def encode_cursor(runtime: Runtime, scope: str, position: int) -> str:
    payload = f"{scope}:{position}".encode()
    return f"{_b64(payload)}.{_b64(_mac(runtime, payload))}"


def decode_cursor(runtime: Runtime, scope: str, cursor: str | None) -> int | None:
    """The key after which the page starts; None without a cursor. InvalidInput if forged."""
    if cursor is None:
        return None
    try:
        payload_part, mac_part = cursor.split(".")
        payload = _unb64(payload_part)
        mac = _unb64(mac_part)
    except ValueError:  # wrong number of parts, or not base64 (binascii.Error is a ValueError)
        raise InvalidInput(
            _BAD_CURSOR, details=[{"field": "cursor", "message": _BAD_CURSOR}]
        ) from None
    if not hmac.compare_digest(mac, _mac(runtime, payload)):
        raise InvalidInput(_BAD_CURSOR, details=[{"field": "cursor", "message": _BAD_CURSOR}])
    found_scope, _, position = payload.decode().rpartition(":")
    if found_scope != scope:
        message = "This cursor belongs to another list: use the next_cursor of this list."
        raise InvalidInput(message, details=[{"field": "cursor", "message": message}])
    return int(position)


def paginate(
    runtime: Runtime,
    scope: str,
    rows: Sequence[Row],
    limit: int,
    key: Callable[[Row], int],
) -> tuple[list[Row], str | None]:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page and make the cursor of the next."""
    page = list(rows[:limit])
    if len(rows) > limit and page:
        return page, encode_cursor(runtime, scope, key(page[-1]))
    return page, None


class Positioned(Protocol):
    position: int


Ordered = TypeVar("Ordered", bound=Positioned)


def page_by_position(
    runtime: Runtime, scope: str, rows: Sequence[Ordered], limit: int, cursor: str | None
) -> tuple[list[Ordered], str | None]:
    """A page of an ordered list held whole in memory (rules, SLA policies), by ``position``."""
    after = decode_cursor(runtime, scope, cursor)
    rest = [row for row in rows if after is None or row.position > after]
    return paginate(runtime, scope, rest[: limit + 1], limit, lambda row: row.position)

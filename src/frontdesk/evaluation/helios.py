"""The benchmark's data files (the format of ../shared/data/helios, see its README).

* ``customers.jsonl``: one customer a line (``id``, ``name``, ``email``, ``language`` and the
  attributes ``plan``, ``company_type``, ``signup_date``, ``lifetime_spend_eur``, ``trial``,
  ``vip``, ``at_risk``, ``products``);
* ``teams.json``: a list of ``{id, description}`` (and optionally ``name``);
* ``dev.jsonl`` and the like: labelled customer messages, one a line, each with ``expected``.

Every problem is a :class:`DataError` naming the file and the line, so the command can say
what to fix instead of printing a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.domain.conversation import CHANNELS, PRIORITIES

__all__ = [
    "ACTIONS",
    "ATTRIBUTE_FIELDS",
    "CustomerRecord",
    "DataError",
    "Expected",
    "LabelledMessage",
    "TeamRecord",
    "load_customers",
    "load_messages",
    "load_teams",
]

ACTIONS = ("answer", "handoff")
# The customer fields that become Customer.attributes (the others are columns).
ATTRIBUTE_FIELDS = (
    "plan",
    "company_type",
    "signup_date",
    "lifetime_spend_eur",
    "trial",
    "vip",
    "at_risk",
    "products",
)


class DataError(Exception):
    """A data file that cannot be used, with a message that says where and what to fix."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class CustomerRecord:
    id: str
    name: str | None
    email: str | None
    language: str | None
    attributes: dict[str, Any]
    where: str  # file:line, for later error messages


@dataclass(frozen=True)
class TeamRecord:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Expected:
    action: str  # answer | handoff
    article_id: str | None
    team: str | None
    priority: str | None
    reason: str | None


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    language: str | None  # the label's language (for the per-language figures)
    customer_id: str | None  # None: an anonymous visitor
    channel: str
    page_url: str | None
    expected: Expected
    where: str  # file:line


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    if not path.is_file():
        raise DataError(f"{path} is not a file.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text.") from None
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc.strerror or exc}.") from None


def _json_lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(file:line, object)`` for each non-blank line."""
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno}).") from None
        if not isinstance(item, dict):
            raise DataError(f"{where}: each line must be a JSON object.")
        yield where, item


def _optional_text(item: dict[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: {key!r} must be text or null, not {json.dumps(value)}.")
    return value


def _required_text(item: dict[str, Any], key: str, where: str) -> str:
    value = _optional_text(item, key, where)
    if value is None or not value.strip():
        raise DataError(f"{where}: {key!r} is missing or empty.")
    return value


def load_customers(path: Path) -> list[CustomerRecord]:
    customers: list[CustomerRecord] = []
    seen: dict[str, str] = {}
    for where, item in _json_lines(path):
        customer_id = _required_text(item, "id", where)
        if customer_id in seen:
            raise DataError(f"{where}: customer {customer_id!r} is already on {seen[customer_id]}.")
        seen[customer_id] = where
        attributes = {k: item[k] for k in ATTRIBUTE_FIELDS if item.get(k) is not None}
        customers.append(
            CustomerRecord(
                id=customer_id,
                name=_optional_text(item, "name", where),
                email=_optional_text(item, "email", where),
                language=_optional_text(item, "language", where),
                attributes=attributes,
                where=where,
            )
        )
    return customers


def load_teams(path: Path) -> list[TeamRecord]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path.name}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})."
        ) from None
    if isinstance(data, dict) and isinstance(data.get("teams"), list):
        data = data["teams"]
    if not isinstance(data, list):
        raise DataError(f"{path.name}: must be a list of teams, each {{id, description}}.")
    teams: list[TeamRecord] = []
    seen: set[str] = set()
    for number, item in enumerate(data, 1):
        where = f"{path.name}, team {number}"
        if not isinstance(item, dict):
            raise DataError(f"{where}: must be an object with id and description.")
        team_id = _required_text(item, "id", where)
        if team_id in seen:
            raise DataError(f"{where}: team {team_id!r} appears twice.")
        seen.add(team_id)
        name = _optional_text(item, "name", where) or team_id.replace("_", " ").capitalize()
        teams.append(TeamRecord(team_id, name, _optional_text(item, "description", where) or ""))
    return teams


def _expected(item: dict[str, Any], where: str) -> Expected:
    raw = item.get("expected")
    if not isinstance(raw, dict):
        raise DataError(f"{where}: 'expected' is missing (action, article_id, team, ...).")
    action = _required_text(raw, "action", where)
    if action not in ACTIONS:
        raise DataError(f"{where}: expected action must be answer or handoff, not {action!r}.")
    article_id = _optional_text(raw, "article_id", where)
    if action == "answer" and article_id is None:
        raise DataError(f"{where}: a message labelled answer needs an expected article_id.")
    priority = _optional_text(raw, "priority", where)
    if priority is not None and priority not in PRIORITIES:
        raise DataError(
            f"{where}: expected priority must be one of {', '.join(PRIORITIES)}, not {priority!r}."
        )
    return Expected(
        action=action,
        article_id=article_id,
        team=_optional_text(raw, "team", where),
        priority=priority,
        reason=_optional_text(raw, "reason", where),
    )


def load_messages(path: Path) -> list[LabelledMessage]:
    messages: list[LabelledMessage] = []
    seen: dict[str, str] = {}
    for where, item in _json_lines(path):
        message_id = _required_text(item, "id", where)
        if message_id in seen:
            raise DataError(f"{where}: message {message_id!r} is already on {seen[message_id]}.")
        seen[message_id] = where
        channel = _optional_text(item, "channel", where) or "chat"
        if channel not in CHANNELS:
            raise DataError(f"{where}: channel {channel!r} is not one of {', '.join(CHANNELS)}.")
        messages.append(
            LabelledMessage(
                id=message_id,
                text=_required_text(item, "text", where),
                language=_optional_text(item, "language", where),
                customer_id=_optional_text(item, "customer_id", where),
                channel=channel,
                page_url=_optional_text(item, "page_url", where),
                expected=_expected(item, where),
                where=where,
            )
        )
    if not messages:
        raise DataError(f"{path.name} holds no messages.")
    return messages

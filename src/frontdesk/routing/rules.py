"""Assignment rules (F15): validation and evaluation, pure functions over plain data.

A rule is ``{"name", "enabled", "match": "all" | "any", "conditions": [...], "actions": {...}}``.
A condition is ``{"field": ..., "op": ..., "value": ...}`` (plus ``"key"`` for ``attribute``):

=============  ======================================  =======================================
field          operators                               value
=============  ======================================  =======================================
keywords       any                                     list of words or phrases
product        contains                                a product, or a list (any of them)
company_type   eq, neq, in                             text (a list for ``in``)
page_url       prefix, glob                            ``/developers/`` (the path) or a full URL
tenure_days    eq, gt, gte, lt, lte                    days since the customer's signup_date
plan           eq, neq, in, exists                     text (a list for ``in``; true/false)
spend          eq, neq, gt, gte, lt, lte               a number
language       eq, neq, in                             a language code (a list for ``in``)
channel        eq, neq, in                             chat, email, web_form, api
attribute      eq, neq, in, contains, gt, gte, lt,     any customer attribute, named by ``key``
               lte, exists, prefix, glob
=============  ======================================  =======================================

Actions: ``team`` (a team's id or slug), ``agent`` (an agent's id), ``priority`` and ``tags``.
Rules are evaluated in Python over the customer's data: nothing of a rule ever reaches SQL.

Keywords are case- and accent-insensitive and match whole words (``API`` does not match
"rapid"; a plural ``s``/``es`` is tolerated, and a trailing ``*`` matches any ending). Thai and
Chinese are written without spaces, so a keyword in those scripts matches wherever it occurs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from frontdesk.domain.conversation import CHANNELS, PRIORITIES
from frontdesk.errors import InvalidInput
from frontdesk.language.tokenize import fold

__all__ = [
    "FIELD_LABELS",
    "FIELD_OPERATORS",
    "MATCHES",
    "OPERATORS",
    "OPERATOR_LABELS",
    "PRIORITIES",
    "Facts",
    "Rule",
    "RuleOutcome",
    "compare",
    "condition_holds",
    "evaluate",
    "keyword_matches",
    "page_url_matches",
    "rule_matches",
    "tenure_days",
    "validate_rule",
]

OPERATORS = ("eq", "neq", "in", "contains", "gt", "gte", "lt", "lte", "exists", "prefix", "glob")
FIELD_OPERATORS: dict[str, tuple[str, ...]] = {
    "keywords": ("any",),
    "product": ("contains",),
    "company_type": ("eq", "neq", "in"),
    "page_url": ("prefix", "glob"),
    "tenure_days": ("eq", "gt", "gte", "lt", "lte"),
    "plan": ("eq", "neq", "in", "exists"),
    "spend": ("eq", "neq", "gt", "gte", "lt", "lte"),
    "language": ("eq", "neq", "in"),
    "channel": ("eq", "neq", "in"),
    "attribute": OPERATORS,
}
FIELD_LABELS: dict[str, str] = {
    "keywords": "Message keywords",
    "product": "Product in use",
    "company_type": "Company type",
    "page_url": "Page URL",
    "tenure_days": "Customer tenure (days)",
    "plan": "Plan",
    "spend": "Spend",
    "language": "Language",
    "channel": "Channel",
    "attribute": "Customer attribute",
}
OPERATOR_LABELS: dict[str, str] = {
    "any": "contains any of",
    "eq": "is",
    "neq": "is not",
    "in": "is one of",
    "contains": "contains",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "exists": "is set (true/false)",
    "prefix": "starts with",
    "glob": "matches pattern",
}
MATCHES = ("all", "any")
# The customer attribute each customer field reads (frontdesk.customers.attributes.KNOWN).
ATTRIBUTE_OF = {
    "product": "products",
    "company_type": "company_type",
    "plan": "plan",
    "spend": "spend",
}

MAX_CONDITIONS = 20
MAX_LIST = 100
MAX_TEXT = 500
MAX_TAGS = 30
MAX_TAG_CHARS = 50
MAX_NAME = 200
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TEAM_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_THAI_HAN = re.compile(r"[\u0E00-\u0E7F\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]")
_WORD = re.compile(r"[^\W_]+")
_MAX_ID = 2**53 - 1


# Validation ----------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append({"field": where, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
            raise InvalidInput(f"{first['field']}: {first['message']}{more}", details=self.items)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= 1e15
    )


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_TEXT


def _is_date_text(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _text_list(value: Any, where: str, problems: _Problems, what: str) -> list[str] | None:
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_LIST:
        problems.add(where, f"give 1 to {MAX_LIST} {what}.")
        return None
    if not all(_is_text(v) for v in items):
        problems.add(where, f"each of the {what} must be non-empty text of at most {MAX_TEXT}.")
        return None
    return [v.strip() for v in items]


def _plain(value: Any) -> bool:
    return _is_number(value) or isinstance(value, bool) or _is_text(value)


def _check_value(field_name: str, op: str, value: Any, where: str, problems: _Problems) -> Any:
    """The cleaned value of one condition, or None after recording what is wrong."""
    if field_name == "keywords":
        return _text_list(value, where, problems, "keywords")
    if field_name == "product":
        return _text_list(value, where, problems, "products")
    if op == "exists":
        if not isinstance(value, bool):
            problems.add(where, "for 'exists' the value is true (is set) or false (is not set).")
            return None
        return value
    if op == "in":
        items = value if isinstance(value, list) else None
        if not items or len(items) > MAX_LIST or not all(_plain(v) for v in items):
            problems.add(where, f"for 'in' the value is a list of 1 to {MAX_LIST} values.")
            return None
        if field_name == "channel" and not all(v in CHANNELS for v in items):
            problems.add(where, f"channels are {', '.join(CHANNELS)}.")
            return None
        return [v.strip() if isinstance(v, str) else v for v in items]
    if field_name == "page_url":
        if not _is_text(value):
            problems.add(where, "give a path such as /developers/ or a full URL.")
            return None
        return value.strip()
    if field_name in ("tenure_days", "spend") or op in ("gt", "gte", "lt", "lte"):
        if field_name == "attribute" and _is_date_text(value):
            return value
        if not _is_number(value):
            extra = " or a date such as 2024-05-31" if field_name == "attribute" else ""
            problems.add(where, f"the value must be a number{extra}.")
            return None
        return value
    if op in ("prefix", "glob"):
        if not _is_text(value):
            problems.add(where, f"for '{op}' the value is non-empty text.")
            return None
        return value.strip()
    if field_name == "channel":
        if value not in CHANNELS:
            problems.add(where, f"the channel is one of {', '.join(CHANNELS)}.")
            return None
        return value
    if not _plain(value):
        problems.add(where, f"the value must be text (at most {MAX_TEXT}), a number or true/false.")
        return None
    return value.strip() if isinstance(value, str) else value


def _check_condition(raw: Any, where: str, problems: _Problems) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        problems.add(where, "a condition is an object with field, op and value.")
        return None
    unknown = set(raw) - {"field", "op", "value", "key"}
    if unknown:
        problems.add(where, f"unknown part {sorted(unknown)[0]!r}: use field, op, value, key.")
        return None
    field_name = raw.get("field")
    if field_name not in FIELD_OPERATORS:
        problems.add(f"{where}.field", f"choose one of {', '.join(FIELD_OPERATORS)}.")
        return None
    ops = FIELD_OPERATORS[field_name]
    op = raw.get("op", ops[0] if len(ops) == 1 else None)
    if op not in ops:
        problems.add(f"{where}.op", f"for {field_name} the operator is one of {', '.join(ops)}.")
        return None
    condition: dict[str, Any] = {"field": field_name, "op": op}
    if field_name == "attribute":
        key = raw.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            problems.add(
                f"{where}.key",
                "name the attribute: lowercase letters, digits and _, starting with a letter.",
            )
            return None
        condition["key"] = key
    elif "key" in raw and raw["key"] not in (None, ""):
        problems.add(f"{where}.key", "only an 'attribute' condition names a key.")
        return None
    if "value" not in raw:
        problems.add(f"{where}.value", "the value is missing.")
        return None
    value = _check_value(field_name, op, raw["value"], f"{where}.value", problems)
    if value is None:
        return None
    condition["value"] = value
    return condition


def _check_actions(raw: Any, problems: _Problems) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.add("actions", "actions is an object with team, agent, priority and tags.")
        return {}
    unknown = set(raw) - {"team", "agent", "priority", "tags"}
    if unknown:
        problems.add(
            "actions", f"unknown action {sorted(unknown)[0]!r}: use team, agent, priority, tags."
        )
        return {}
    actions: dict[str, Any] = {}
    team = raw.get("team")
    if team is not None and team != "":
        if isinstance(team, int) and not isinstance(team, bool) and 1 <= team <= _MAX_ID:
            actions["team"] = team
        elif isinstance(team, str) and TEAM_SLUG.match(team.strip()):
            actions["team"] = team.strip()
        else:
            problems.add("actions.team", "give a team's id or slug.")
    agent = raw.get("agent")
    if agent is not None:
        if isinstance(agent, int) and not isinstance(agent, bool) and 1 <= agent <= _MAX_ID:
            actions["agent"] = agent
        else:
            problems.add("actions.agent", "give an agent's id.")
    priority = raw.get("priority")
    if priority is not None and priority != "":
        if priority in PRIORITIES:
            actions["priority"] = priority
        else:
            problems.add("actions.priority", f"choose one of {', '.join(PRIORITIES)}.")
    tags = raw.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.add("actions.tags", "tags is a list of words.")
        else:
            clean = sorted({t.strip().lower() for t in tags if t.strip()})
            if len(clean) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in clean):
                problems.add(
                    "actions.tags",
                    f"at most {MAX_TAGS} tags of at most {MAX_TAG_CHARS} characters.",
                )
            elif clean:
                actions["tags"] = clean
    if not actions and not problems.items:
        problems.add("actions", "a rule needs at least one action: team, agent, priority or tags.")
    return actions


def validate_rule(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A clean rule definition from what an admin or a client sent, or InvalidInput listing
    each problem (``details``: one ``{field, message}`` per problem)."""
    problems = _Problems()
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        problems.add("name", f"give the rule a name of 1 to {MAX_NAME} characters.")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add("enabled", "enabled is true or false.")
    match = raw.get("match", "all")
    if match not in MATCHES:
        problems.add("match", "match is 'all' (every condition) or 'any' (at least one).")
    raw_conditions = raw.get("conditions")
    conditions: list[dict[str, Any]] = []
    if not isinstance(raw_conditions, list) or not 1 <= len(raw_conditions) <= MAX_CONDITIONS:
        problems.add("conditions", f"a rule has 1 to {MAX_CONDITIONS} conditions.")
    else:
        for i, item in enumerate(raw_conditions):
            condition = _check_condition(item, f"conditions[{i}]", problems)
            if condition is not None:
                conditions.append(condition)
    actions = _check_actions(raw.get("actions"), problems)
    problems.raise_if_any()
    assert isinstance(name, str)
    return {
        "name": name.strip(),
        "enabled": enabled,
        "match": match,
        "conditions": conditions,
        "actions": actions,
    }


# Evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rules look at, for one conversation."""

    text: str = ""
    channel: str = "chat"
    language: str | None = None
    page_url: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    enabled: bool
    match: str
    conditions: Sequence[Mapping[str, Any]]
    actions: Mapping[str, Any]


@dataclass(frozen=True)
class RuleOutcome:
    """What the matching rules decided: team/agent from the first rule that sets either,
    priority and tags each from the first rule that sets them."""

    team: int | str | None = None
    agent: int | None = None
    team_rule_id: int | None = None
    priority: str | None = None
    priority_rule_id: int | None = None
    tags: tuple[str, ...] = ()
    tags_rule_id: int | None = None
    matched: tuple[int, ...] = ()

    @property
    def routes(self) -> bool:
        return self.team_rule_id is not None


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class _Text:
    folded: str
    words: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> _Text:
        folded = fold(text)
        return cls(folded, tuple(_words(folded)))


def _word_matches(word: str, wanted: str, *, last: bool, wildcard: bool) -> bool:
    if word == wanted:
        return True
    if last and wildcard:
        return word.startswith(wanted)
    if last and wanted.isalpha() and len(wanted) > 2:
        return word in (wanted + "s", wanted + "es")
    return False


def keyword_matches(keyword: str, text: str | _Text) -> bool:
    """Whether ``keyword`` (a word or phrase) occurs in ``text`` as whole words."""
    target = text if isinstance(text, _Text) else _Text.of(text)
    raw = fold(keyword).strip()
    wildcard = raw.endswith("*")
    raw = raw.rstrip("*").strip()
    if not raw:
        return False
    if _THAI_HAN.search(raw):
        return re.sub(r"\s+", "", raw) in re.sub(r"\s+", "", target.folded)
    wanted = _words(raw)
    if not wanted:
        return raw in target.folded  # symbols only ("C#", "++"): a plain substring
    n = len(wanted)
    words = target.words
    for start in range(len(words) - n + 1):
        if all(
            _word_matches(words[start + i], wanted[i], last=i == n - 1, wildcard=wildcard)
            for i in range(n)
        ):
            return True
    return False


def _norm(value: Any) -> Any:
    return fold(value).strip() if isinstance(value, str) else value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if _is_number(actual) and _is_number(expected):
        return float(actual) == float(expected)
    if isinstance(actual, str) and _is_number(expected):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    if isinstance(actual, str) and isinstance(expected, str):
        return bool(_norm(actual) == _norm(expected))
    return False


def _as_number_or_date(value: Any) -> float | date | None:
    if isinstance(value, bool):
        return None
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        if _DATE.match(value[:10]):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                return None
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _compare(op: str, actual: Any, expected: Any) -> bool:
    a, b = _as_number_or_date(actual), _as_number_or_date(expected)
    if a is None or b is None or type(a) is not type(b):
        return False
    if op == "gt":
        return a > b  # type: ignore[operator]
    if op == "gte":
        return a >= b  # type: ignore[operator]
    if op == "lt":
        return a < b  # type: ignore[operator]
    return a <= b  # type: ignore[operator]


def _glob(text: str, pattern: str) -> bool:
    return fnmatchcase(fold(text), fold(pattern))


def compare(op: str, actual: Any, expected: Any) -> bool:
    """One operator of the allow-list applied to a customer's value (None: not set)."""
    if op == "exists":
        present = actual is not None and actual != "" and actual != []
        return present is bool(expected)
    if actual is None:
        return op == "neq"
    values = actual if isinstance(actual, list) else [actual]
    if op == "eq":
        return any(_equal(v, expected) for v in values)
    if op == "neq":
        return not any(_equal(v, expected) for v in values)
    if op == "in":
        return any(_equal(v, e) for v in values for e in expected)
    if op == "contains":
        wanted = expected if isinstance(expected, list) else [expected]
        if isinstance(actual, list):
            return any(_equal(v, e) for v in actual for e in wanted)
        if isinstance(actual, str):
            return any(isinstance(e, str) and _norm(e) in _norm(actual) for e in wanted)
        return False
    if op in ("gt", "gte", "lt", "lte"):
        return any(_compare(op, v, expected) for v in values)
    if op == "prefix":
        return any(isinstance(v, str) and _norm(v).startswith(_norm(expected)) for v in values)
    if op == "glob":
        return any(isinstance(v, str) and _glob(v, expected) for v in values)
    return False


def page_url_matches(op: str, page_url: str | None, pattern: str) -> bool:
    """A pattern starting with ``/`` is about the page's path (``/developers/`` matches
    ``https://site/developers/api``); anything else is about the whole URL."""
    if not page_url:
        return False
    url = page_url.strip()
    subject = url
    if pattern.startswith("/"):
        try:
            subject = urlsplit(url).path or "/"
        except ValueError:
            return False
    if op == "prefix":
        s, p = subject.casefold(), pattern.casefold()
        return s.startswith(p) or (p.endswith("/") and s == p[:-1])
    return fnmatchcase(subject.casefold(), pattern.casefold())


def tenure_days(attributes: Mapping[str, Any], today: date) -> int | None:
    signup = attributes.get("signup_date")
    if not isinstance(signup, str):
        return None
    try:
        return (today - date.fromisoformat(signup[:10])).days
    except ValueError:
        return None


def condition_holds(condition: Mapping[str, Any], facts: Facts, text: _Text | None = None) -> bool:
    field_name = condition.get("field")
    op = str(condition.get("op", ""))
    value = condition.get("value")
    if field_name == "keywords":
        target = text or _Text.of(facts.text)
        return any(keyword_matches(k, target) for k in value or ())
    if field_name == "page_url":
        return isinstance(value, str) and page_url_matches(op, facts.page_url, value)
    if field_name == "tenure_days":
        return compare(op, tenure_days(facts.attributes, facts.today), value)
    if field_name == "language":
        return compare(op, facts.language, value)
    if field_name == "channel":
        return compare(op, facts.channel, value)
    if field_name == "attribute":
        return compare(op, facts.attributes.get(str(condition.get("key"))), value)
    if isinstance(field_name, str) and field_name in ATTRIBUTE_OF:
        return compare(op, facts.attributes.get(ATTRIBUTE_OF[field_name]), value)
    return False  # an unknown field (never stored: validate_rule refuses it) matches nothing


def rule_matches(rule: Rule, facts: Facts, text: _Text | None = None) -> bool:
    if not rule.enabled or not rule.conditions:
        return False
    target = text or _Text.of(facts.text)
    results = (condition_holds(c, facts, target) for c in rule.conditions)
    return any(results) if rule.match == "any" else all(results)


def evaluate(rules: Iterable[Rule], facts: Facts) -> RuleOutcome:
    """Apply ``rules`` in order: the first matching rule with a team or agent routes; priority
    and tags come from the first matching rule that sets each."""
    text = _Text.of(facts.text)
    team: int | str | None = None
    agent: int | None = None
    team_rule: int | None = None
    priority: str | None = None
    priority_rule: int | None = None
    tags: tuple[str, ...] = ()
    tags_rule: int | None = None
    matched: list[int] = []
    for rule in rules:
        if not rule_matches(rule, facts, text):
            continue
        matched.append(rule.id)
        actions = rule.actions
        if team_rule is None and (actions.get("team") is not None or actions.get("agent")):
            team, agent, team_rule = actions.get("team"), actions.get("agent"), rule.id
        if priority_rule is None and actions.get("priority"):
            priority, priority_rule = str(actions["priority"]), rule.id
        if tags_rule is None and actions.get("tags"):
            tags, tags_rule = tuple(str(t) for t in actions["tags"]), rule.id
    return RuleOutcome(
        team=team,
        agent=agent,
        team_rule_id=team_rule,
        priority=priority,
        priority_rule_id=priority_rule,
        tags=tags,
        tags_rule_id=tags_rule,
        matched=tuple(matched),
    )

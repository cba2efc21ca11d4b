"""The never-automate policy (F5, F9, F3, safety): when the bot stays silent and a person takes
over at once. Configurable per workspace, stored as validated JSON in
``workspace.settings["policy"]`` (no migration: :func:`load_policy` fills in the defaults).

The rules, in the order that decides the reason (the event and the handoff name the first
that matched; the priority is the highest any matched rule asks for, the team the first that
names one):

======================  =======================  ========================================
rule                    reason                   default action
======================  =======================  ========================================
``safety``              ``urgent_safety``        priority urgent
``frustration``         ``frustrated``           priority high
``human_request``       ``human_request``        (team left to routing)
``cancellation``        ``policy_cancellation``  team retention, else sales; priority high
``plan_change``         ``policy_plan_change``   team sales
``pricing``             ``policy_pricing``       team sales
``case``                ``needs_person``         (team left to routing)
custom rules            ``policy_customer``      what the admin set (team, priority)
``customer``            ``policy_customer``      trial, VIP, at-risk, signed up in the last
                                                 14 days; priority high for VIP and at-risk
======================  =======================  ========================================

Each message rule has built-in multilingual detection (:mod:`frontdesk.guardrails.intents`,
``frustration``, ``safety``, ``human_request``, ``casework``) that can be switched off, plus keyword lists
per language the admin edits (any keyword in any language triggers the rule).

:func:`evaluate` is pure: the text, the customer's attributes and today's date in, a
:class:`Decision` (or None) out. The pipeline step (:mod:`frontdesk.guardrails.step`) acts on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from sqlalchemy.orm import Session

from frontdesk.domain.conversation import PRIORITY_RANK
from frontdesk.errors import InvalidInput
from frontdesk.guardrails.casework import detect_case
from frontdesk.guardrails.frustration import detect_frustration
from frontdesk.guardrails.human_request import is_human_request
from frontdesk.guardrails.intents import detect_cancellation, detect_plan_change, detect_pricing
from frontdesk.guardrails.safety import detect_safety
from frontdesk.guardrails.text import keyword_hits, normalize
from frontdesk.store.models import Workspace

__all__ = [
    "INTENT_RULES",
    "OPERATORS",
    "RULE_REASONS",
    "Condition",
    "CustomRule",
    "CustomerRule",
    "Decision",
    "MessageRule",
    "Policy",
    "default_policy",
    "evaluate",
    "load_policy",
    "make_condition",
    "parse_policy",
    "save_policy",
]

log = logging.getLogger(__name__)

Language = Literal["en", "th", "el", "zh", "id", "es", "de"]
LANGUAGES: Final = ("en", "th", "el", "zh", "id", "es", "de")
Priority = Literal["low", "normal", "high", "urgent"]
TeamSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
# Some visible text (whitespace for every regex engine that reads the schema, as in the API).
NON_BLANK: Final = r"[^\s\x1c-\x1f\x85]"
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NON_BLANK)]
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

# The message rules, in the order that decides the reason.
INTENT_RULES: Final = (
    "safety",
    "frustration",
    "human_request",
    "cancellation",
    "plan_change",
    "pricing",
    "case",
)
RULE_REASONS: Final = {
    "safety": "urgent_safety",
    "frustration": "frustrated",
    "human_request": "human_request",
    "cancellation": "policy_cancellation",
    "plan_change": "policy_plan_change",
    "pricing": "policy_pricing",
    "case": "needs_person",
    "custom": "policy_customer",
    "customer": "policy_customer",
}
RULE_LABELS: Final = {
    "safety": "Safety and outages",
    "frustration": "Frustration",
    "human_request": "Asks for a person",
    "cancellation": "Cancellation requests",
    "plan_change": "Upgrade / downgrade requests",
    "pricing": "Pricing and quotes",
    "case": "Cases only a person can solve (an order, invoice or visit)",
    "customer": "Customer: trial, VIP, at-risk, new",
}

Operator = Literal[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "greater_than",
    "less_than",
    "is_true",
    "is_false",
    "exists",
    "missing",
    "within_last_days",
    "older_than_days",
]
OPERATORS: Final = get_args(Operator)
MAX_KEYWORDS = 200
MAX_CUSTOM_RULES = 50


def _json_number(value: Any) -> Any:
    """A JSON number only: not "7" or true (pydantic's lax mode would take them)."""
    if isinstance(value, str | bool):
        raise ValueError("must be a number")
    return value


def _json_integer(value: Any) -> Any:
    if isinstance(value, str | bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be a whole number")
    return value


StrictBool = Annotated[bool, Strict()]
Value = (
    Annotated[str, StringConstraints(max_length=200)]
    | StrictBool
    | Annotated[int, Strict(), Field(ge=-(10**15), le=10**15)]
    | Annotated[float, Strict(), Field(ge=-1e15, le=1e15)]
)


def _lone_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        if _lone_surrogate(data):
            raise ValueError("text must be valid Unicode (it contains a lone surrogate)")
        return data


class MessageRule(_Model):
    """A rule on what the message says."""

    enabled: StrictBool = True
    builtin: StrictBool = Field(True, description="Use the built-in multilingual detection.")
    keywords: dict[Language, Annotated[list[Keyword], Field(max_length=MAX_KEYWORDS)]] = Field(
        default_factory=dict, description="Extra words or phrases per language."
    )
    team: TeamSlug | None = None
    fallback_team: TeamSlug | None = Field(None, description="When the team does not exist.")
    priority: Priority | None = None


class CustomerRule(_Model):
    """Customers a person always answers."""

    enabled: StrictBool = True
    trial: StrictBool = True
    vip: StrictBool = True
    at_risk: StrictBool = True
    new_customer_days: Annotated[
        int, Field(ge=0, le=3650, description="0: off."), BeforeValidator(_json_integer)
    ] = 14
    team: TeamSlug | None = None
    priority_vip_at_risk: Priority | None = "high"
    priority_other: Priority | None = None


class _ConditionBase(_Model):
    attribute: AttributeName


class FlagCondition(_ConditionBase):
    """is_true / is_false / exists / missing: no value."""

    operator: Literal["is_true", "is_false", "exists", "missing"]
    value: None = None


class ValueCondition(_ConditionBase):
    """equals / not_equals / contains: one value (for a list attribute: one of its items)."""

    operator: Literal["equals", "not_equals", "contains"]
    value: Value


class ListCondition(_ConditionBase):
    """in / not_in: one of several values."""

    operator: Literal["in", "not_in"]
    value: Annotated[list[Value], Field(min_length=1, max_length=100)]


class NumberCondition(_ConditionBase):
    """greater_than / less_than: a number (spend, any numeric attribute)."""

    operator: Literal["greater_than", "less_than"]
    value: Annotated[float, Field(ge=-1e15, le=1e15), BeforeValidator(_json_number)]


class DaysCondition(_ConditionBase):
    """within_last_days / older_than_days: a date attribute (signup_date) against today."""

    operator: Literal["within_last_days", "older_than_days"]
    value: Annotated[int, Field(ge=0, le=36500), BeforeValidator(_json_integer)]


Condition = Annotated[
    FlagCondition | ValueCondition | ListCondition | NumberCondition | DaysCondition,
    Field(discriminator="operator"),
]
_CONDITION: Final = TypeAdapter(Condition)


def make_condition(data: Any) -> Condition:
    """A condition from JSON-like data (pydantic ValidationError if it is bad)."""
    condition: Condition = _CONDITION.validate_python(data)
    return condition


class CustomRule(_Model):
    """Admin-defined: when the customer's attributes match → a person, with a team/priority."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NON_BLANK)]
    enabled: StrictBool = True
    match: Literal["all", "any"] = "all"
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=10)]
    team: TeamSlug | None = None
    priority: Priority | None = None


def _intent(**values: Any) -> MessageRule:
    return MessageRule(**values)


class Policy(_Model):
    version: Literal[1] = 1
    safety: MessageRule = Field(default_factory=lambda: _intent(priority="urgent"))
    frustration: MessageRule = Field(default_factory=lambda: _intent(priority="high"))
    human_request: MessageRule = Field(default_factory=MessageRule)
    cancellation: MessageRule = Field(
        default_factory=lambda: _intent(team="retention", fallback_team="sales", priority="high")
    )
    plan_change: MessageRule = Field(default_factory=lambda: _intent(team="sales"))
    pricing: MessageRule = Field(default_factory=lambda: _intent(team="sales"))
    case: MessageRule = Field(default_factory=MessageRule)
    customer: CustomerRule = Field(default_factory=CustomerRule)
    custom: Annotated[list[CustomRule], Field(max_length=MAX_CUSTOM_RULES)] = Field(
        default_factory=list
    )

    def message_rule(self, name: str) -> MessageRule:
        rule: MessageRule = getattr(self, name)
        return rule


def default_policy() -> Policy:
    return Policy()


# Reading and saving ----------------------------------------------------------------------------


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    details = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        details.append({"field": where, "message": message})
    return details


def parse_policy(data: Any) -> Policy:
    """A policy from JSON-like data; InvalidInput (422) naming every problem if it is bad."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        details = _problems(exc)
        first = details[0] if details else {"field": "", "message": "invalid"}
        raise InvalidInput(
            f"Invalid policy: {first['field'] or 'policy'}: {first['message']}", details=details
        ) from None


def load_policy(workspace: Workspace) -> Policy:
    """The workspace's policy; the defaults when none is saved (or a stored one is unreadable)."""
    stored = (workspace.settings or {}).get("policy")
    if stored is None:
        return default_policy()
    try:
        return Policy.model_validate(stored)
    except ValidationError:
        log.warning("workspace %s: stored policy is invalid; using the defaults", workspace.id)
        return default_policy()


def save_policy(session: Session, workspace: Workspace, data: Any) -> Policy:
    """Validate and store a policy (InvalidInput if it is bad); returns what was stored."""
    policy = data if isinstance(data, Policy) else parse_policy(data)
    policy = parse_policy(policy.model_dump(mode="json"))  # re-validate a model built in code
    workspace.settings = {**(workspace.settings or {}), "policy": policy.model_dump(mode="json")}
    session.flush()
    return policy


# Evaluating ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    rule: str  # pricing, customer, custom:<name>, …
    reason: str
    matched: list[str]
    priority: str | None = None
    teams: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "reason": self.reason, "matched": self.matched[:8]}


@dataclass(frozen=True)
class Decision:
    """What the guardrails decided about one message: a person takes over."""

    rule: str
    reason: str
    priority: str | None
    teams: tuple[str, ...]  # candidate team slugs, first existing wins
    signals: list[Signal] = field(default_factory=list)
    kind: str | None = None  # safety: hazard | account; case: delivery | billing | visit | action

    def event_data(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "reason": self.reason,
            "priority": self.priority,
            **({"kind": self.kind} if self.kind else {}),
            "signals": [s.as_dict() for s in self.signals],
        }


def _teams(rule: MessageRule | CustomRule | CustomerRule) -> tuple[str, ...]:
    teams = [getattr(rule, "team", None), getattr(rule, "fallback_team", None)]
    return tuple(t for t in teams if t)


def _detect(
    name: str, text: str, folded: str, explicit_human: bool
) -> tuple[list[str], str | None]:
    if name == "safety":
        found = detect_safety(folded)
        return (found[1], found[0]) if found else ([], None)
    if name == "frustration":
        return detect_frustration(text, folded), None
    if name == "human_request":
        if explicit_human:
            return ["button: talk to a person"], None
        return (["asks for a person"] if is_human_request(text) else []), None
    if name == "cancellation":
        return detect_cancellation(folded), None
    if name == "plan_change":
        return detect_plan_change(folded), None
    if name == "case":
        case = detect_case(folded)
        return (case[1], case[0]) if case else ([], None)
    return detect_pricing(folded), None


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None and not isinstance(a, str) and not isinstance(b, str):
        return na == nb
    return bool(a == b)


def condition_holds(condition: Condition, attributes: Mapping[str, Any], today: date) -> bool:
    """Does one condition hold for these attributes? A missing attribute fails every operator
    but ``missing`` (and ``not_equals`` / ``not_in``, which it satisfies)."""
    op, expected = condition.operator, condition.value
    present = condition.attribute in attributes and attributes[condition.attribute] is not None
    actual = attributes.get(condition.attribute)
    if op == "exists":
        return present
    if op == "missing":
        return not present
    if op == "not_equals":
        return not present or not _contains_or_equals(actual, expected)
    if op == "not_in":
        values = expected if isinstance(expected, list) else []
        return not present or not any(_contains_or_equals(actual, v) for v in values)
    if not present:
        return False
    if op == "is_true":
        return actual is True
    if op == "is_false":
        return actual is False
    if op == "equals":
        return _contains_or_equals(actual, expected)
    if op == "in":
        values = expected if isinstance(expected, list) else []
        return any(_contains_or_equals(actual, v) for v in values)
    if op == "contains":
        if isinstance(actual, list):
            return any(_same(item, expected) for item in actual)
        return isinstance(actual, str) and str(expected).casefold() in actual.casefold()
    if op in ("greater_than", "less_than"):
        number = _number(actual)
        if number is None or isinstance(expected, bool) or not isinstance(expected, int | float):
            return False
        return number > expected if op == "greater_than" else number < expected
    moment = _as_date(actual)
    if moment is None or isinstance(expected, bool) or not isinstance(expected, int | float):
        return False
    age = (today - moment).days
    if op == "within_last_days":
        return 0 <= age <= expected
    return age > expected  # older_than_days


def _contains_or_equals(actual: Any, expected: Any) -> bool:
    """Equality; for a list attribute (products), membership."""
    if isinstance(actual, list):
        return any(_same(item, expected) for item in actual)
    return _same(actual, expected)


def _customer_signal(
    rule: CustomerRule, attributes: Mapping[str, Any], today: date
) -> Signal | None:
    matched: list[str] = []
    high = False
    if rule.vip and attributes.get("vip") is True:
        matched.append("vip")
        high = True
    if rule.at_risk and attributes.get("at_risk") is True:
        matched.append("at_risk")
        high = True
    if rule.trial and attributes.get("trial") is True:
        matched.append("trial")
    signup = _as_date(attributes.get("signup_date"))
    if rule.new_customer_days and signup is not None:
        age = (today - signup).days
        if 0 <= age <= rule.new_customer_days:
            matched.append(f"new: signed up {age} days ago")
    if not matched:
        return None
    priority = rule.priority_vip_at_risk if high else rule.priority_other
    return Signal("customer", "policy_customer", matched, priority, _teams(rule))


def _max_priority(values: list[str | None]) -> str | None:
    present = [v for v in values if v]
    return max(present, key=lambda p: PRIORITY_RANK[p]) if present else None


def evaluate(
    policy: Policy,
    text: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    today: date | None = None,
    explicit_human: bool = False,
) -> Decision | None:
    """The guardrails' decision for one message, or None when the bot may answer.

    ``explicit_human``: the customer pressed the widget's "talk to a person" button."""
    today = today or datetime.now(UTC).date()
    attributes = attributes or {}
    folded = normalize(text)
    signals: list[Signal] = []
    kinds: dict[str, str] = {}  # rule -> kind (safety: hazard | account; case: delivery, …)
    for name in INTENT_RULES:
        rule = policy.message_rule(name)
        if not rule.enabled:
            continue
        matched: list[str] = []
        if rule.builtin or (name == "human_request" and explicit_human):
            matched, found_kind = _detect(name, text, folded, explicit_human)
            if found_kind:
                kinds[name] = found_kind
        matched += [f"keyword: {k}" for k in keyword_hits(rule.keywords, folded)]
        if matched:
            signals.append(Signal(name, RULE_REASONS[name], matched, rule.priority, _teams(rule)))
    for custom in policy.custom:
        if not custom.enabled:
            continue
        results = [condition_holds(c, attributes, today) for c in custom.conditions]
        if all(results) if custom.match == "all" else any(results):
            described = [
                f"{c.attribute} {c.operator}" + ("" if c.value is None else f" {c.value}")
                for c, ok in zip(custom.conditions, results, strict=True)
                if ok
            ]
            signals.append(
                Signal(
                    f"custom:{custom.name}",
                    "policy_customer",
                    described,
                    custom.priority,
                    _teams(custom),
                )
            )
    if policy.customer.enabled:
        customer = _customer_signal(policy.customer, attributes, today)
        if customer is not None:
            signals.append(customer)
    if not signals:
        return None
    first = signals[0]
    teams: tuple[str, ...] = next((s.teams for s in signals if s.teams), ())
    return Decision(
        rule=first.rule,
        reason=first.reason,
        priority=_max_priority([s.priority for s in signals]),
        teams=teams,
        signals=signals,
        kind=kinds.get(first.rule),
    )

"""The policy: defaults, every condition type, combining rules, and bad definitions rejected."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from frontdesk.errors import InvalidInput
from frontdesk.guardrails.policy import (
    Policy,
    condition_holds,
    default_policy,
    evaluate,
    make_condition,
    parse_policy,
)

TODAY = date(2026, 12, 1)
EASY = "how do I reset my password?"


def _policy(**changes: Any) -> Policy:
    data = default_policy().model_dump(mode="json")
    data.update(changes)
    return parse_policy(data)


def test_defaults() -> None:
    policy = default_policy()
    assert policy.pricing.team == "sales" and policy.plan_change.team == "sales"
    assert (policy.cancellation.team, policy.cancellation.fallback_team) == ("retention", "sales")
    assert policy.cancellation.priority == "high"
    assert policy.customer.new_customer_days == 14
    assert policy.safety.priority == "urgent" and policy.frustration.priority == "high"
    assert evaluate(policy, EASY, {"plan": "pro"}, today=TODAY) is None


@pytest.mark.parametrize(
    ("attributes", "matched", "priority"),
    [
        ({"trial": True}, "trial", None),
        ({"vip": True}, "vip", "high"),
        ({"at_risk": True}, "at_risk", "high"),
        ({"signup_date": "2026-11-25"}, "new: signed up 6 days ago", None),
    ],
)
def test_customer_rule(attributes: dict[str, Any], matched: str, priority: str | None) -> None:
    decision = evaluate(default_policy(), EASY, attributes, today=TODAY)
    assert decision is not None
    assert decision.reason == "policy_customer" and decision.rule == "customer"
    assert decision.signals[0].matched == [matched]
    assert decision.priority == priority
    assert decision.teams == ()  # left to routing


def test_customer_rule_toggles_and_days() -> None:
    old = {"signup_date": "2026-10-01"}
    assert evaluate(default_policy(), EASY, old, today=TODAY) is None
    policy = _policy(customer={"new_customer_days": 90, "vip": False})
    assert evaluate(policy, EASY, old, today=TODAY) is not None
    assert evaluate(policy, EASY, {"vip": True}, today=TODAY) is None
    off = _policy(customer={"enabled": False})
    assert evaluate(off, EASY, {"trial": True}, today=TODAY) is None


def test_rules_combine_reason_priority_and_team() -> None:
    decision = evaluate(default_policy(), "ขอใบเสนอราคาแบตเตอรี่", {"vip": True}, today=TODAY)
    assert decision is not None
    assert decision.reason == "policy_pricing"
    assert decision.priority == "high"  # from the VIP rule
    assert decision.teams == ("sales",)
    assert [s.rule for s in decision.signals] == ["pricing", "customer"]
    cancel = evaluate(default_policy(), "I want to cancel my plan", {}, today=TODAY)
    assert cancel is not None and cancel.teams == ("retention", "sales")
    assert cancel.priority == "high"
    urgent = evaluate(default_policy(), "smoke from the battery, cancel everything!!!", {})
    assert urgent is not None and urgent.reason == "urgent_safety" and urgent.priority == "urgent"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("The inverter you sent arrived cracked", "delivery"),
        ("我的账单扣了两次", "billing"),
        ("Der Techniker hat das Dach zerkratzt", "visit"),
        ("¿Me lo podéis revisar? Es el pedido 4411", "action"),
    ],
)
def test_a_case_says_its_kind_and_a_vip_keeps_high_priority(text: str, kind: str) -> None:
    decision = evaluate(default_policy(), text, {"vip": True}, today=TODAY)
    assert decision is not None
    assert (decision.rule, decision.reason, decision.kind) == ("case", "needs_person", kind)
    assert decision.priority == "high" and decision.teams == ()
    assert decision.event_data()["kind"] == kind
    # a question about what would happen is the help center's; "if" as "whether" is not that
    assert evaluate(default_policy(), "What if the inverter arrives cracked?", {}) is None
    for text in ("Can you check if I was charged twice?", "Sí, me cobraron dos veces"):
        found = evaluate(default_policy(), text, {})
        assert found is not None and found.rule == "case", text


def test_explicit_button_is_a_human_request() -> None:
    decision = evaluate(default_policy(), "", {}, explicit_human=True)
    assert decision is not None and decision.reason == "human_request"


def test_disabled_rule_and_builtin_off_with_keywords() -> None:
    assert evaluate(_policy(pricing={"enabled": False}), "what's the price?", {}) is None
    keywords_only = _policy(pricing={"builtin": False, "keywords": {"de": ["Wallbox"]}})
    assert evaluate(keywords_only, "what's the price?", {}) is None
    decision = evaluate(keywords_only, "Do you sell a wallbox?", {})
    assert decision is not None and decision.reason == "policy_pricing"
    assert decision.signals[0].matched == ["keyword: Wallbox"]


ATTRS: dict[str, Any] = {
    "plan": "Pro",
    "spend": 12000,
    "vip": False,
    "products": ["battery", "panels"],
    "signup_date": "2026-11-20",
    "region": "north",
}


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "expected"),
    [
        ("plan", "equals", "pro", True),
        ("plan", "equals", "basic", False),
        ("plan", "not_equals", "basic", True),
        ("missing_key", "not_equals", "basic", True),
        ("plan", "in", ["plus", "pro"], True),
        ("plan", "not_in", ["plus", "pro"], False),
        ("products", "contains", "battery", True),
        ("products", "equals", "panels", True),
        ("region", "contains", "ort", True),
        ("spend", "greater_than", 10000, True),
        ("spend", "less_than", 10000, False),
        ("vip", "is_false", None, True),
        ("vip", "is_true", None, False),
        ("region", "exists", None, True),
        ("company_type", "missing", None, True),
        ("signup_date", "within_last_days", 14, True),
        ("signup_date", "older_than_days", 14, False),
        ("company_type", "equals", "business", False),
    ],
)
def test_condition_types(attribute: str, operator: str, value: Any, expected: bool) -> None:
    condition = make_condition({"attribute": attribute, "operator": operator, "value": value})
    assert condition_holds(condition, ATTRS, TODAY) is expected


def test_custom_rule_action() -> None:
    attrs = {**ATTRS, "signup_date": "2024-01-01"}  # not a new customer
    policy = _policy(
        custom=[
            {
                "name": "Big spenders",
                "conditions": [
                    {"attribute": "spend", "operator": "greater_than", "value": 10000},
                    {"attribute": "plan", "operator": "equals", "value": "pro"},
                ],
                "team": "key-accounts",
                "priority": "high",
            }
        ]
    )
    decision = evaluate(policy, EASY, attrs, today=TODAY)
    assert decision is not None
    assert (decision.rule, decision.reason) == ("custom:Big spenders", "policy_customer")
    assert decision.teams == ("key-accounts",) and decision.priority == "high"
    assert evaluate(policy, EASY, {**attrs, "plan": "basic"}, today=TODAY) is None
    anyof = _policy(
        custom=[
            {
                "name": "any",
                "match": "any",
                "conditions": [
                    {"attribute": "spend", "operator": "greater_than", "value": 99999},
                    {"attribute": "plan", "operator": "equals", "value": "pro"},
                ],
            }
        ]
    )
    assert evaluate(anyof, EASY, attrs, today=TODAY) is not None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"pricing": {"enabled": "maybe"}}, "pricing.enabled"),
        ({"pricing": {"team": "Sales Team!"}}, "pricing.team"),
        ({"pricing": {"priority": "asap"}}, "pricing.priority"),
        ({"pricing": {"keywords": {"fr": ["prix"]}}}, "pricing.keywords.fr"),
        ({"pricing": {"keywords": {"en": [""]}}}, "pricing.keywords.en.0"),
        ({"pricing": {"regex": ".*"}}, "pricing.regex"),
        ({"workspace_id": 2}, "workspace_id"),
        ({"customer": {"new_customer_days": -1}}, "customer.new_customer_days"),
        ({"custom": [{"name": "x", "conditions": []}]}, "custom.0.conditions"),
        (
            {"custom": [{"name": "x", "conditions": [{"attribute": "plan", "operator": "like"}]}]},
            "custom.0.conditions.0",
        ),
        (
            {
                "custom": [
                    {"name": "x", "conditions": [{"attribute": "Plan; DROP", "operator": "exists"}]}
                ]
            },
            "custom.0.conditions.0",
        ),
        (
            {
                "custom": [
                    {
                        "name": "x",
                        "conditions": [
                            {"attribute": "spend", "operator": "greater_than", "value": "lots"}
                        ],
                    }
                ]
            },
            "custom.0.conditions.0",
        ),
        (
            {
                "custom": [
                    {
                        "name": "x",
                        "conditions": [{"attribute": "plan", "operator": "in", "value": "pro"}],
                    }
                ]
            },
            "custom.0.conditions.0",
        ),
        (
            {
                "custom": [
                    {
                        "name": "x",
                        "conditions": [{"attribute": "vip", "operator": "is_true", "value": 1}],
                    }
                ]
            },
            "custom.0.conditions.0",
        ),
    ],
)
def test_bad_definitions_are_rejected(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_policy(data)
    assert caught.value.status == 422
    fields = [d["field"] for d in caught.value.details]
    assert any(f.startswith(problem) for f in fields), fields
    assert caught.value.message.startswith("Invalid policy:")


def test_round_trip() -> None:
    policy = _policy(pricing={"keywords": {"th": ["ค่าแรง"]}, "team": "sales"})
    assert parse_policy(policy.model_dump(mode="json")) == policy

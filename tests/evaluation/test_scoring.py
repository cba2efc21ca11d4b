"""The figures, on small hand-made outcomes."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.evaluation.helios import Expected
from frontdesk.evaluation.scoring import (
    FIGURES,
    Outcome,
    percentile,
    ratio,
    read_outcome,
    score,
)


def answer(article: str) -> Expected:
    return Expected("answer", article, "tech_support", "normal", "answerable")


def handoff(reason: str, team: str = "triage", priority: str = "normal") -> Expected:
    return Expected("handoff", None, team, priority, reason)


def outcome(expected: Expected, language: str = "en", **kwargs: Any) -> Outcome:
    return Outcome(query_id="q", language=language, expected=expected, **kwargs)


def test_read_outcome_takes_the_bots_events() -> None:
    events = [
        ("conversation_created", {}),
        ("message_received", {"seq": 1}),
        ("bot_answered", {"article_id": "reset-password", "probability": 0.91}),
        ("bot_answered", {"article_id": "other", "probability": 0.5}),  # only the first counts
        ("bot_declined", {"reason": "low_confidence", "probability": 0.2, "article_id": "x"}),
        ("handed_off", {"reason": "feedback_no"}),
        ("bot_resolved", {}),
    ]
    got = read_outcome(
        "q1", "th", answer("reset-password"), events, team="billing", priority="high"
    )
    assert got.answered_article == "reset-password"
    assert got.answer_probability == 0.91
    assert (got.decision_article, got.decision_probability) == ("reset-password", 0.91)
    assert got.declined and got.bot_resolved
    assert got.handoff_reasons == ("feedback_no",)
    assert got.answered_right and got.team == "billing" and got.priority == "high"


def test_a_declined_question_keeps_the_article_it_was_not_sure_of() -> None:
    events = [("bot_declined", {"article_id": "reset-password", "probability": 0.41})]
    got = read_outcome("q", "en", answer("reset-password"), events)
    assert got.declined and not got.answered and got.answer_probability is None
    assert (got.decision_article, got.decision_probability) == ("reset-password", 0.41)


def test_read_outcome_of_a_silent_bot() -> None:
    got = read_outcome("q", "en", answer("a"), [("message_received", {})])
    assert not got.answered and not got.declined and not got.handed_off
    assert not got.answered_right


def test_bot_figures() -> None:
    outcomes = [
        outcome(answer("a"), answered_article="a"),  # right
        outcome(answer("b"), answered_article="a"),  # wrong article
        outcome(answer("c"), declined=True),  # not answered
        outcome(handoff("out_of_scope"), answered_article="a"),  # false answer, OOS
        outcome(handoff("needs_person")),  # correctly silent
        outcome(handoff("human_request"), handoff_reasons=("human_request",)),  # recalled
        # handed off for the right reason, but only after answering: not recalled
        outcome(handoff("human_request"), answered_article="a", handoff_reasons=("human_request",)),
        outcome(handoff("human_request"), handoff_reasons=("repeated_miss",)),  # wrong reason
    ]
    result = score(outcomes)
    assert result["queries"] == 8
    assert result["answer_precision"] == ratio(1, 4)  # 4 answers, 1 with the labelled article
    assert result["answer_coverage"] == ratio(1, 3)
    assert result["false_answer_rate"] == ratio(2, 5)
    assert result["oos_false_answer_rate"] == 1.0
    assert result["human_request_recall"] == ratio(1, 3)
    assert result["counts"]["answered"] == 4 and result["counts"]["answered_right"] == 1


def test_a_figure_with_no_denominator_is_none() -> None:
    result = score([outcome(answer("a"))])
    assert result["answer_precision"] is None  # the bot never answered
    assert result["false_answer_rate"] is None  # nothing labelled handoff
    assert result["oos_false_answer_rate"] is None
    assert result["human_request_recall"] is None
    assert result["policy_recall"] is None and result["urgent_recall"] is None
    assert result["answer_coverage"] == 0.0
    empty = score([])
    assert empty["queries"] == 0
    assert all(empty[name] is None for name in FIGURES)
    assert empty["latency_ms"] == {"p50": None, "p95": None}
    assert empty["by_language"] == {}


def test_routing_figures_from_the_final_state() -> None:
    outcomes = [
        outcome(handoff("needs_person", team="billing"), team="billing"),
        outcome(handoff("needs_person", team="billing"), team="shop"),
        outcome(
            handoff("out_of_scope", team="triage", priority="low"), in_triage=True, priority="low"
        ),
        outcome(
            handoff("out_of_scope", team="triage", priority="low"), team="triage", priority="normal"
        ),
        outcome(handoff("out_of_scope", team="triage", priority="low")),  # unrouted: not triage
        outcome(
            handoff("urgent_safety", team="field_service", priority="urgent"),
            team="field_service",
            priority="urgent",
            handoff_reasons=("urgent_safety",),
        ),
        outcome(handoff("policy_pricing", team="sales"), handoff_reasons=("policy_pricing",)),
        outcome(
            handoff("policy_customer", team="sales"),
            answered_article="a",
            handoff_reasons=("policy_customer",),
        ),
    ]
    result = score(outcomes)
    assert result["team_accuracy"] == ratio(4, 8)
    # priority: low/low right, low/normal wrong, low/None wrong, urgent right, others normal/None
    assert result["priority_accuracy"] == ratio(2, 8)
    assert result["urgent_recall"] == 1.0
    assert result["policy_recall"] == 0.5  # the one answered first does not count
    # of the five in-scope handoffs (a real team labelled), none went to triage
    assert result["triage_rate"] == ratio(0, 5)
    # an answerable question is not a handoff: it does not count for the team
    with_answer = score([*outcomes, outcome(answer("a"), team="shop")])
    assert with_answer["team_accuracy"] == ratio(4, 8)


def test_by_language_has_the_same_figures() -> None:
    outcomes = [
        outcome(answer("a"), language="th", answered_article="a", latency_ms=10.0),
        outcome(answer("a"), language="th", latency_ms=30.0),
        outcome(answer("a"), language="el", answered_article="b", latency_ms=20.0),
    ]
    result = score(outcomes)
    assert set(result["by_language"]) == {"th", "el"}
    th = result["by_language"]["th"]
    assert th["queries"] == 2 and th["answer_coverage"] == 0.5 and th["answer_precision"] == 1.0
    assert result["by_language"]["el"]["answer_precision"] == 0.0
    assert set(th) == set(result) - {"by_language"}
    assert result["latency_ms"] == {"p50": 20.0, "p95": 29.0}
    assert th["latency_ms"] == {"p50": 20.0, "p95": 29.0}


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 101))), 95) == 95.05
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_ratio_rounds_and_refuses_an_empty_denominator() -> None:
    assert ratio(1, 3) == 0.3333
    assert ratio(0, 0) is None

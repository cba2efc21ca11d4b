"""What happened to each labelled message, and the figures over all of them. Pure functions.

The bot and the routing write what they decided as conversation events; :func:`read_outcome`
turns one conversation's events and final state into an :class:`Outcome`, :func:`score` turns
the outcomes into the figures (docs/evaluation.md defines each). A figure whose denominator is
empty is ``None`` (null in JSON), never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontdesk.evaluation.helios import Expected

__all__ = [
    "FIGURES",
    "ROUTING_FIGURES",
    "Outcome",
    "figures",
    "percentile",
    "ratio",
    "read_outcome",
    "score",
]

# The ratio figures, each in [0, 1] or None, in the order the table shows them.
BOT_FIGURES = (
    "answer_precision",
    "answer_coverage",
    "false_answer_rate",
    "oos_false_answer_rate",
    "human_request_recall",
)
ROUTING_FIGURES = (
    "team_accuracy",
    "priority_accuracy",
    "policy_recall",
    "urgent_recall",
    "triage_rate",
)
FIGURES = BOT_FIGURES + ROUTING_FIGURES
TRIAGE = "triage"


@dataclass(frozen=True)
class Outcome:
    """One labelled message after the pipeline ran on it."""

    query_id: str
    language: str | None
    expected: Expected
    answered_article: str | None = None  # the article of the bot's (first) answer
    answer_probability: float | None = None
    # the bot's first decision, answered or declined: the best article and its probability
    # (for finding the misses: how far below the threshold a declined right article was)
    decision_article: str | None = None
    decision_probability: float | None = None
    declined: bool = False
    handoff_reasons: tuple[str, ...] = ()
    bot_resolved: bool = False
    team: str | None = None  # slug of the conversation's team at the end
    in_triage: bool = False
    priority: str | None = None
    latency_ms: float | None = None
    fold: int | None = None  # with k-fold: the fold that scored it (0-based)

    @property
    def answered(self) -> bool:
        return self.answered_article is not None

    @property
    def handed_off(self) -> bool:
        return bool(self.handoff_reasons)

    @property
    def answered_right(self) -> bool:
        """The bot answered a question labelled answer with the labelled article."""
        return (
            self.expected.action == "answer"
            and self.answered_article is not None
            and self.answered_article == self.expected.article_id
        )

    @property
    def ended_in_triage(self) -> bool:
        return self.team == TRIAGE or (self.team is None and self.in_triage)


def read_outcome(
    query_id: str,
    language: str | None,
    expected: Expected,
    events: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    team: str | None = None,
    in_triage: bool = False,
    priority: str | None = None,
    latency_ms: float | None = None,
) -> Outcome:
    """The outcome of one message from its conversation's ``(type, data)`` events, oldest
    first, and the conversation's final team, triage flag and priority."""
    answered: str | None = None
    probability: float | None = None
    decision: tuple[str | None, float | None] | None = None
    declined = False
    reasons: list[str] = []
    resolved = False
    for kind, data in events:
        if kind in ("bot_answered", "bot_declined") and decision is None:
            article, value = data.get("article_id"), data.get("probability")
            decision = (
                article if isinstance(article, str) and article else None,
                float(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else None,
            )
        if kind == "bot_answered" and answered is None:
            article = data.get("article_id")
            if isinstance(article, str) and article:
                answered = article
                value = data.get("probability")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    probability = float(value)
        elif kind == "bot_declined":
            declined = True
        elif kind == "handed_off":
            reasons.append(str(data.get("reason") or "unknown"))
        elif kind == "bot_resolved":
            resolved = True
    return Outcome(
        query_id=query_id,
        language=language,
        expected=expected,
        answered_article=answered,
        answer_probability=probability,
        decision_article=decision[0] if decision else None,
        decision_probability=decision[1] if decision else None,
        declined=declined,
        handoff_reasons=tuple(reasons),
        bot_resolved=resolved,
        team=team,
        in_triage=in_triage,
        priority=priority,
        latency_ms=latency_ms,
    )


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` rounded to 4 places; None when there is nothing to divide."""
    if denominator == 0:
        return None
    return round(numerator / denominator, 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), linearly interpolated between the closest ranks."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q is a percentage from 0 to 100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2)


def _share(outcomes: Sequence[Outcome], where: Any, hit: Any) -> float | None:
    selected = [o for o in outcomes if where(o)]
    return ratio(sum(1 for o in selected if hit(o)), len(selected))


def _team_right(outcome: Outcome) -> bool:
    expected = outcome.expected.team
    if expected == TRIAGE:
        return outcome.ended_in_triage
    return outcome.team == expected


def figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Every figure over ``outcomes`` (see docs/evaluation.md), without the per-language split."""
    answers = [o for o in outcomes if o.answered]
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    result: dict[str, Any] = {
        "queries": len(outcomes),
        # of the bot's answers, the share with the labelled article (any language version)
        "answer_precision": ratio(sum(1 for o in answers if o.answered_right), len(answers)),
        # of the messages labelled answer, the share answered with the labelled article
        "answer_coverage": _share(
            outcomes, lambda o: o.expected.action == "answer", lambda o: o.answered_right
        ),
        # of the messages labelled handoff, the share the bot answered anyway
        "false_answer_rate": _share(
            outcomes, lambda o: o.expected.action == "handoff", lambda o: o.answered
        ),
        "oos_false_answer_rate": _share(
            outcomes,
            lambda o: o.expected.action == "handoff" and o.expected.reason == "out_of_scope",
            lambda o: o.answered,
        ),
        # asked for a person: handed off for that reason, with no bot answer first
        "human_request_recall": _share(
            outcomes,
            lambda o: o.expected.reason == "human_request",
            lambda o: "human_request" in o.handoff_reasons and not o.answered,
        ),
        # routing, from the conversation's final state
        # of the messages labelled handoff: a person on the labelled team got it first time
        "team_accuracy": _share(
            outcomes,
            lambda o: o.expected.action == "handoff" and o.expected.team is not None,
            _team_right,
        ),
        "priority_accuracy": _share(
            outcomes,
            lambda o: o.expected.priority is not None,
            lambda o: o.priority == o.expected.priority,
        ),
        # a never-automate policy applies: handed to a person, with no bot answer
        "policy_recall": _share(
            outcomes,
            lambda o: (o.expected.reason or "").startswith("policy_"),
            lambda o: o.handed_off and not o.answered,
        ),
        "urgent_recall": _share(
            outcomes, lambda o: o.expected.priority == "urgent", lambda o: o.priority == "urgent"
        ),
        # of all messages, the share that ended in triage (the triage team or the triage inbox)
        # of the in-scope handoffs (labelled with a real team, not triage): sent to triage
        "triage_rate": _share(
            outcomes,
            lambda o: o.expected.action == "handoff" and o.expected.team not in (None, TRIAGE),
            lambda o: o.ended_in_triage,
        ),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "counts": {
            "labelled_answer": sum(1 for o in outcomes if o.expected.action == "answer"),
            "labelled_handoff": sum(1 for o in outcomes if o.expected.action == "handoff"),
            "answered": len(answers),
            "answered_right": sum(1 for o in answers if o.answered_right),
            "declined": sum(1 for o in outcomes if o.declined),
            "handed_off": sum(1 for o in outcomes if o.handed_off),
            "bot_resolved": sum(1 for o in outcomes if o.bot_resolved),
        },
    }
    return result


def score(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """:func:`figures` over all outcomes, plus ``by_language``: the same for each language."""
    result = figures(outcomes)
    languages = sorted({o.language or "unknown" for o in outcomes})
    result["by_language"] = {
        language: figures([o for o in outcomes if (o.language or "unknown") == language])
        for language in languages
    }
    return result

"""Guardrails benchmark on the Helios dev messages (../shared/data/helios).

Runs the default never-automate policy (:func:`frontdesk.guardrails.policy.evaluate`) on every
labelled message, with the customer's attributes from ``customers.jsonl``, and reports:

* per handoff reason: recall (handed off with that reason) and recall of any handoff, and for
  ``urgent_safety`` the share given priority urgent;
* the false-trigger rate on messages labelled ``answerable`` (each one costs the bot's
  coverage) and ``out_of_scope``;
* with ``--semantic``, the same with the embedding-similarity check added
  (:mod:`frontdesk.guardrails.semantic`), to see what it adds.

    .venv/bin/python benchmarks/guardrails.py               # table
    .venv/bin/python benchmarks/guardrails.py --semantic    # patterns vs patterns + embeddings
    .venv/bin/python benchmarks/guardrails.py --json        # one JSON object
    .venv/bin/python benchmarks/guardrails.py --misses      # list misses and false triggers

"Today" is the day the benchmark runs (``--today`` to fix it): the new-customer rule counts
days since ``signup_date``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from frontdesk.guardrails.policy import Decision, Policy, default_policy, evaluate

ROOT = Path(__file__).resolve().parents[1]
HELIOS = ROOT.parent / "shared" / "data" / "helios"
REASONS = (
    "policy_pricing",
    "policy_plan_change",
    "policy_cancellation",
    "policy_customer",
    "frustrated",
    "urgent_safety",
    "human_request",
    "needs_person",
)
NEGATIVES = ("answerable", "out_of_scope")


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    language: str
    reason: str
    priority: str
    attributes: dict[str, Any]


def load(path: Path, customers: Path) -> list[Row]:
    people = {}
    for line in customers.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            people[item["id"]] = item
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        person = people.get(item.get("customer_id") or "", {})
        attributes = {
            k: v for k, v in person.items() if k not in ("id", "name", "email", "language")
        }
        if "lifetime_spend_eur" in attributes:
            attributes["spend"] = attributes["lifetime_spend_eur"]
        expected = item["expected"]
        rows.append(
            Row(
                item["id"],
                item["text"],
                item.get("language") or "?",
                expected.get("reason") or "?",
                expected.get("priority") or "normal",
                attributes,
            )
        )
    return rows


def run(
    rows: list[Row], policy: Policy, today: date, semantic: bool = False
) -> tuple[dict[str, Any], list[tuple[Row, Decision | None]]]:
    checker = None
    if semantic:
        from frontdesk.guardrails.semantic import SemanticIntents

        checker = SemanticIntents()
    decisions: list[tuple[Row, Decision | None]] = []
    for row in rows:
        decision = evaluate(policy, row.text, row.attributes, today=today)
        if decision is None and checker is not None:
            decision = checker.decide(policy, row.text)
        decisions.append((row, decision))
    by_reason: dict[str, list[tuple[Row, Decision | None]]] = defaultdict(list)
    for row, decision in decisions:
        by_reason[row.reason].append((row, decision))
    figures: dict[str, Any] = {"messages": len(rows), "reasons": {}, "false_triggers": {}}
    for reason in REASONS:
        items = by_reason.get(reason, [])
        if not items:
            continue
        exact = sum(1 for _, d in items if d is not None and d.reason == reason)
        anyhow = sum(1 for _, d in items if d is not None)
        entry: dict[str, Any] = {
            "n": len(items),
            "recall": round(exact / len(items), 4),
            "handoff_recall": round(anyhow / len(items), 4),
        }
        if reason == "urgent_safety":
            urgent = sum(1 for _, d in items if d is not None and d.priority == "urgent")
            entry["urgent_recall"] = round(urgent / len(items), 4)
        figures["reasons"][reason] = entry
    policy_items = [
        (r, d)
        for r, d in decisions
        if r.reason.startswith("policy_") or r.reason in ("frustrated", "urgent_safety")
    ]
    figures["policy_recall"] = round(
        sum(1 for _, d in policy_items if d is not None) / max(1, len(policy_items)), 4
    )
    urgent_items = [(r, d) for r, d in decisions if r.priority == "urgent"]
    figures["urgent_recall"] = round(
        sum(1 for _, d in urgent_items if d is not None and d.priority == "urgent")
        / max(1, len(urgent_items)),
        4,
    )
    human = by_reason.get("human_request", [])
    figures["human_request_recall"] = round(
        sum(1 for _, d in human if d is not None and d.reason == "human_request")
        / max(1, len(human)),
        4,
    )
    for reason in NEGATIVES:
        items = by_reason.get(reason, [])
        fired = sum(1 for _, d in items if d is not None)
        figures["false_triggers"][reason] = {
            "n": len(items),
            "triggered": fired,
            "rate": round(fired / len(items), 4) if items else None,
        }
    return figures, decisions


def _print(label: str, figures: dict[str, Any]) -> None:
    print(f"\n== {label}: {figures['messages']} messages")
    print(f"{'reason':22} {'n':>3} {'recall':>7} {'handoff':>8} {'urgent':>7}")
    for reason, entry in figures["reasons"].items():
        urgent = entry.get("urgent_recall")
        print(
            f"{reason:22} {entry['n']:>3} {entry['recall']:>7.2f} {entry['handoff_recall']:>8.2f} "
            f"{'' if urgent is None else f'{urgent:.2f}':>7}"
        )
    print(
        f"policy_recall {figures['policy_recall']:.2f}  urgent_recall {figures['urgent_recall']:.2f}  "
        f"human_request_recall {figures['human_request_recall']:.2f}"
    )
    for reason, entry in figures["false_triggers"].items():
        rate = entry["rate"]
        print(
            f"false triggers on {reason:13} {entry['triggered']:>3}/{entry['n']:<3} "
            f"{'' if rate is None else f'{rate:.3f}'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HELIOS / "dev.jsonl")
    parser.add_argument("--customers", type=Path, default=HELIOS / "customers.jsonl")
    parser.add_argument("--today", type=date.fromisoformat, default=datetime.now(UTC).date())
    parser.add_argument("--semantic", action="store_true", help="also run with embeddings")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"{args.data} does not exist", file=sys.stderr)
        return 2
    rows = load(args.data, args.customers)
    policy = default_policy()
    results = {"patterns": run(rows, policy, args.today)}
    if args.semantic:
        results["patterns + embeddings"] = run(rows, policy, args.today, semantic=True)
    if args.json:
        print(json.dumps({k: v[0] for k, v in results.items()}, indent=2))
    else:
        for label, (figures, _) in results.items():
            _print(label, figures)
    if args.misses:
        for label, (_, decisions) in results.items():
            print(f"\n-- {label}: misses and false triggers")
            for row, decision in decisions:
                wanted = row.reason in REASONS
                got = decision.reason if decision else None
                if (wanted and got != row.reason) or (not wanted and got is not None):
                    detail = [s.as_dict() for s in decision.signals] if decision else []
                    print(
                        f"{row.id} [{row.language}] {row.reason} -> {got} {detail} | {row.text[:100]}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

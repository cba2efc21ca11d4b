"""Drive the product on a labelled data set and score what it did.

:func:`load_data` reads and cross-checks every file before anything is written;
:func:`run_evaluation` then, on the runtime it is given:

1. creates a fresh workspace, imports the knowledge base (published), the customers and the
   teams (one agent per team, plus a lead);
2. with a learn file, replays each labelled message as a past, handled conversation through
   the product's own paths: the customer message through :func:`frontdesk.inbound.receive`;
   for ``answer`` an agent of the labelled team replies with the article's help-center link
   and resolves; for ``handoff`` the conversation is assigned to the labelled team, and its
   agent replies (without an article) and resolves;
3. sends every query through :func:`~frontdesk.inbound.receive` as a live message and reads
   what the pipeline did from the conversation's events and final state;
4. scores the outcomes (:mod:`frontdesk.evaluation.scoring`).

With ``folds`` (k-fold over the queries, :func:`plan_folds`), steps 1 to 3 run once per fold in
a fresh workspace that learns from the other folds' messages and scores its own; the figures
are over all the out-of-fold outcomes. That is how the file the bot is tuned on is measured
without ever learning from the message being scored.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.accounts.actions import (
    create_agent,
    create_team,
    create_workspace,
    set_team_members,
    update_agent,
)
from frontdesk.bot.phrases import phrase
from frontdesk.conversations.actions import (
    access_conversation,
    do_assign,
    do_change_priority,
    do_change_status,
    do_send_agent_reply,
)
from frontdesk.conversations.events import Actor
from frontdesk.customers.actions import create_visitor, do_update_customer
from frontdesk.errors import FrontdeskError, InvalidInput
from frontdesk.evaluation.helios import (
    CustomerRecord,
    DataError,
    LabelledMessage,
    TeamRecord,
    load_customers,
    load_messages,
    load_teams,
)
from frontdesk.evaluation.scoring import Outcome, percentile, read_outcome, score
from frontdesk.inbound import InboundMessage, receive
from frontdesk.knowledge.store import (
    ImportReport,
    import_articles,
    import_collections,
    read_import_source,
)
from frontdesk.routing.learned import retrain
from frontdesk.store.models import Agent, Conversation, ConversationEvent, Customer, Team, Workspace

if TYPE_CHECKING:
    from rich.progress import Progress

    from frontdesk.runtime import Runtime

__all__ = ["FOLD_SEED", "EvalData", "help_link", "load_data", "plan_folds", "run_evaluation"]

log = logging.getLogger(__name__)

FOLD_SEED = 7
# What the agent of a handed-off conversation says before resolving it in a replayed history.
HANDLED_REPLY = "Thanks for your patience: I have looked into this and sorted it out for you."


@dataclass(frozen=True)
class EvalData:
    kb: Path
    customers: list[CustomerRecord]
    teams: list[TeamRecord]
    queries: list[LabelledMessage]
    learn: list[LabelledMessage] = field(default_factory=list)
    folds: int = 0  # 0: one run; k >= 2: k-fold over the queries (each fold learns the others)


def load_data(
    kb: Path,
    customers: Path,
    teams: Path,
    queries: Path,
    learn: Path | None = None,
    *,
    folds: int | None = None,
) -> EvalData:
    """Read every file and check that they agree (customer and team ids); DataError if not."""
    if not kb.exists():
        raise DataError(f"{kb} does not exist: --kb takes a folder of Markdown or a .json export.")
    if folds is not None and learn is not None:
        raise DataError(
            "--folds learns each fold from the other folds of --queries: leave out --learn."
        )
    data = EvalData(
        kb=kb,
        customers=load_customers(customers),
        teams=load_teams(teams),
        queries=load_messages(queries),
        learn=load_messages(learn) if learn is not None else [],
        folds=folds or 0,
    )
    if folds is not None and not 2 <= folds <= len(data.queries):
        raise DataError(
            f"--folds must be from 2 to the number of queries ({len(data.queries)}), not {folds}."
        )
    known_customers = {c.id for c in data.customers}
    known_teams = {t.id for t in data.teams}
    for message in [*data.learn, *data.queries]:
        if message.customer_id is not None and message.customer_id not in known_customers:
            raise DataError(
                f"{message.where}: customer {message.customer_id!r} is not in "
                f"{customers.name} (use null for an anonymous visitor)."
            )
    # with --folds the queries are learned from too (by the other folds)
    for message in data.learn if folds is None else data.queries:
        team = message.expected.team
        if team is not None and team not in known_teams:
            raise DataError(f"{message.where}: team {team!r} is not in {teams.name}.")
        if message.expected.action == "handoff" and team is None:
            raise DataError(f"{message.where}: a handoff to learn from needs its team.")
    return data


def plan_folds(
    messages: Sequence[LabelledMessage], k: int, seed: int = FOLD_SEED
) -> list[list[int]]:
    """``k`` folds of message positions, each in file order: every message in exactly one.

    Stratified by language: each language's messages, shuffled (seeded), are dealt to the
    folds in turn, continuing from where the previous language stopped, so the folds differ
    in size by one at most and each holds its share of every language."""
    if not 2 <= k <= len(messages):
        raise ValueError(f"k must be from 2 to {len(messages)}")
    rng = random.Random(seed)  # noqa: S311  (a reproducible split, not a secret)
    by_language: dict[str, list[int]] = {}
    for position, message in enumerate(messages):
        by_language.setdefault(message.language or "", []).append(position)
    folds: list[list[int]] = [[] for _ in range(k)]
    dealt = 0
    for language in sorted(by_language):
        positions = by_language[language]
        rng.shuffle(positions)
        for position in positions:
            folds[dealt % k].append(position)
            dealt += 1
    return [sorted(fold) for fold in folds]


def help_link(base_url: str, workspace_slug: str, article_id: str) -> str:
    """The article's page in the public help center (relative when no base URL is set)."""
    return f"{base_url.rstrip('/')}/help/{workspace_slug}/articles/{article_id}"


@dataclass
class _Workspace:
    id: int
    slug: str
    customers: dict[str, int]  # the file's id -> Customer.id
    teams: dict[str, int]  # team slug -> Team.id
    agents: dict[str, int]  # team slug -> Agent.id
    lead_id: int
    kb: ImportReport
    article_ids: set[str]


class _Steps:
    """One progress task at a time on the (optional) Rich progress display."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.task: Any = None

    def begin(self, description: str, total: int | None) -> None:
        if self.progress is not None:
            self.task = self.progress.add_task(description, total=total)

    def advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)

    def done(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=1, completed=1)


def _setup(runtime: Runtime, data: EvalData, steps: _Steps) -> _Workspace:
    try:
        articles, errors, collections = read_import_source(data.kb)
    except InvalidInput as exc:
        raise DataError(exc.message) from None
    report = ImportReport(skipped=[str(e) for e in errors])
    steps.begin("Importing the knowledge base", len(articles))
    with runtime.db.write() as session:
        workspace = create_workspace(
            session, "Evaluation", slug=f"eval-{time.strftime('%Y%m%d')}-{secrets.token_hex(3)}"
        )
        try:
            with session.begin_nested():
                import_collections(session, workspace.id, collections)
        except InvalidInput as exc:
            report.skipped.append(f"collections: {exc.message} (collections skipped)")
        import_articles(
            session,
            workspace.id,
            articles,
            status="published",
            report=report,
            on_article=lambda _: steps.advance(),
        )
        if report.imported == 0:
            raise DataError(
                f"No article could be imported from {data.kb}"
                + (f": {report.skipped[0]}" if report.skipped else " (no .md files).")
            )
        article_ids = {a.id for a in articles}

        steps.begin("Customers and teams", len(data.customers) + len(data.teams))
        customers: dict[str, int] = {}
        for record in data.customers:
            customer = Customer(
                workspace_id=workspace.id, external_id=record.id, language=record.language
            )
            session.add(customer)
            session.flush()
            attributes = dict(record.attributes)
            if "lifetime_spend_eur" in attributes:
                # ``spend`` is the well-known attribute assignment rules read (F15)
                attributes["spend"] = attributes["lifetime_spend_eur"]
            try:
                with session.begin_nested():
                    do_update_customer(
                        session,
                        customer,
                        actor=Actor.system(),
                        name=record.name,
                        email=record.email,
                        attributes=attributes,
                    )
            except InvalidInput as exc:
                raise DataError(f"{record.where}: {exc.message}") from None
            customers[record.id] = customer.id
            steps.advance()
        lead = create_agent(
            session, workspace, email="lead@eval.frontdesk.invalid", name="Eval lead", role="admin"
        )
        teams: dict[str, int] = {}
        agents: dict[str, int] = {}
        for team_record in data.teams:
            try:
                team = create_team(
                    session,
                    workspace,
                    team_record.name,
                    slug=team_record.id,
                    description=team_record.description,
                )
            except FrontdeskError as exc:
                raise DataError(f"team {team_record.id!r}: {exc.message}") from None
            agent = create_agent(
                session,
                workspace,
                email=f"{team.slug.replace('_', '-')}@eval.frontdesk.invalid",
                name=f"{team_record.name} agent",
            )
            update_agent(session, agent, availability="online", capacity=1000)
            set_team_members(session, team, [agent.id])
            teams[team.slug] = team.id
            agents[team.slug] = agent.id
            steps.advance()
        return _Workspace(
            workspace.id, workspace.slug, customers, teams, agents, lead.id, report, article_ids
        )


def _warm_index(runtime: Runtime, workspace_id: int, steps: _Steps, description: str) -> float:
    steps.begin(description, None)
    started = time.perf_counter()
    with runtime.db.read() as session:
        index = runtime.knowledge.index(session, workspace_id)
        index.search("hello", "en", k=1)  # loads the query side of the models too
    steps.done()
    return time.perf_counter() - started


def _customer_id(runtime: Runtime, ws: _Workspace, message: LabelledMessage) -> int:
    if message.customer_id is not None:
        return ws.customers[message.customer_id]
    with runtime.db.write() as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        return create_visitor(session, workspace, secrets.token_urlsafe(16), language=None).id


def _inbound(ws: _Workspace, customer_id: int, message: LabelledMessage) -> InboundMessage:
    return InboundMessage(
        workspace_id=ws.id,
        channel=message.channel,
        customer_id=customer_id,
        text=message.text,
        page_url=message.page_url,
    )


def _learn(
    runtime: Runtime, ws: _Workspace, messages: Sequence[LabelledMessage], steps: _Steps
) -> int:
    steps.begin("Learning from past conversations", len(messages))
    base_url = runtime.settings.base_url
    learned = 0
    for message in messages:
        expected = message.expected
        result = receive(
            runtime.db,
            _inbound(ws, _customer_id(runtime, ws, message), message),
            max_chars=runtime.settings.max_message_chars,
        )
        team_slug = expected.team
        team_id = ws.teams.get(team_slug) if team_slug else None
        agent_id = ws.agents.get(team_slug, ws.lead_id) if team_slug else ws.lead_id
        with runtime.db.write() as session:
            conversation = access_conversation(session, ws.id, result.conversation_id)
            agent = session.get(Agent, agent_id)
            assert agent is not None
            actor = Actor("agent", agent.id)
            if expected.action == "answer":
                assert expected.article_id is not None
                do_assign(
                    session,
                    conversation,
                    team_id=team_id,
                    assignee_id=agent.id,
                    actor=actor,
                )
                link = help_link(base_url, ws.slug, expected.article_id)
                do_send_agent_reply(
                    session, conversation, agent, body=f"This article explains it: {link}"
                )
                do_change_status(session, conversation, "resolved", actor=actor)
            else:
                # a person takes it, answers without an article and resolves: what the bot
                # learns negative examples from (when it had decided on the question itself)
                do_assign(session, conversation, team_id=team_id, assignee_id=agent.id, actor=actor)
                do_send_agent_reply(session, conversation, agent, body=HANDLED_REPLY)
                do_change_status(session, conversation, "resolved", actor=actor)
            if expected.priority is not None:
                do_change_priority(session, conversation, expected.priority, actor=actor)
        learned += 1
        steps.advance()
    return learned


def _query(
    runtime: Runtime, ws: _Workspace, message: LabelledMessage, team_slugs: dict[int, str]
) -> tuple[Outcome, dict[str, float]]:
    inbound = _inbound(ws, _customer_id(runtime, ws, message), message)
    started = time.perf_counter()
    result = receive(runtime.db, inbound, max_chars=runtime.settings.max_message_chars)
    wall = (time.perf_counter() - started) * 1000
    timings = {"receive": round(wall, 2), **result.timings_ms}
    pipeline = [v for k, v in result.timings_ms.items() if k != "record"]
    decision_ms = round(sum(pipeline), 2) if pipeline else round(wall, 2)
    with runtime.db.read() as session:
        first_turn = _events(session, ws.id, result.conversation_id)
    types = {t for t, _ in first_turn}
    if "bot_declined" in types and "handed_off" not in types:
        # What the widget offers next: the customer, told the bot has no answer, presses
        # "Talk to a person", and routing decides where the conversation goes (the simulated
        # customer does not know the label). The bot's figures read the first turn only.
        receive(
            runtime.db,
            InboundMessage(
                workspace_id=inbound.workspace_id,
                channel=inbound.channel,
                customer_id=inbound.customer_id,
                text=phrase(message.language, "talk_to_person"),
                conversation_id=result.conversation_id,
                meta={"intent": "human"},
            ),
            max_chars=runtime.settings.max_message_chars,
        )
    with runtime.db.read() as session:
        conversation = session.get(Conversation, result.conversation_id)
        assert conversation is not None
        outcome = read_outcome(
            message.id,
            message.language,
            message.expected,
            first_turn,
            team=team_slugs.get(conversation.team_id) if conversation.team_id else None,
            in_triage=conversation.in_triage,
            priority=conversation.priority,
            latency_ms=decision_ms,
        )
    return outcome, timings


def _events(session: Session, workspace_id: int, conversation_id: int) -> list[Any]:
    return [
        (row.type, row.data or {})
        for row in session.execute(
            select(ConversationEvent.type, ConversationEvent.data)
            .where(
                ConversationEvent.workspace_id == workspace_id,
                ConversationEvent.conversation_id == conversation_id,
            )
            .order_by(ConversationEvent.id)
        )
    ]


def _timing_summary(samples: Sequence[dict[str, float]]) -> dict[str, dict[str, float | None]]:
    names: list[str] = []
    for sample in samples:
        names.extend(n for n in sample if n not in names)
    return {
        name: {
            "p50": percentile([s[name] for s in samples if name in s], 50),
            "p95": percentile([s[name] for s in samples if name in s], 95),
        }
        for name in names
    }


def outcome_detail(outcome: Outcome) -> dict[str, Any]:
    """One line of ``--details``: what was expected and what happened."""
    return {
        "id": outcome.query_id,
        "language": outcome.language,
        "expected": {
            "action": outcome.expected.action,
            "article_id": outcome.expected.article_id,
            "team": outcome.expected.team,
            "priority": outcome.expected.priority,
            "reason": outcome.expected.reason,
        },
        "answered_article": outcome.answered_article,
        "answer_probability": outcome.answer_probability,
        "decision_article": outcome.decision_article,
        "decision_probability": outcome.decision_probability,
        "declined": outcome.declined,
        "handoff_reasons": list(outcome.handoff_reasons),
        "bot_resolved": outcome.bot_resolved,
        "team": outcome.team,
        "in_triage": outcome.in_triage,
        "priority": outcome.priority,
        "latency_ms": outcome.latency_ms,
        **({"fold": outcome.fold} if outcome.fold is not None else {}),
    }


def _run_once(
    runtime: Runtime,
    data: EvalData,
    learn: Sequence[LabelledMessage],
    queries: Sequence[LabelledMessage],
    steps: _Steps,
    fold: int | None = None,
) -> tuple[_Workspace, list[Outcome], list[dict[str, float]], int, float]:
    """One fresh workspace: import, learn ``learn``, send ``queries``."""
    ws = _setup(runtime, data, steps)
    for line in ws.kb.skipped:
        log.warning("knowledge base: skipped %s", line)
    index_seconds = _warm_index(runtime, ws.id, steps, "Indexing the knowledge base")
    learned = 0
    suffix = f" (fold {fold + 1} of {data.folds})" if fold is not None else ""
    if learn:
        learned = _learn(runtime, ws, learn, steps)
        index_seconds += _warm_index(runtime, ws.id, steps, "Indexing what was learned")
        # The learned router trains on those past conversations, as `frontdesk router train`
        # and the nightly job do.
        steps.begin("Training the router" + suffix, None)
        report = retrain(runtime.db, ws.id)
        steps.done()
        log.info("router: %s", report)
    with runtime.db.read() as session:
        team_slugs = {
            t.id: t.slug for t in session.scalars(select(Team).where(Team.workspace_id == ws.id))
        }
    steps.begin("Sending the queries" + suffix, len(queries))
    outcomes: list[Outcome] = []
    timings: list[dict[str, float]] = []
    for message in queries:
        outcome, timing = _query(runtime, ws, message, team_slugs)
        outcomes.append(replace(outcome, fold=fold) if fold is not None else outcome)
        timings.append(timing)
        steps.advance()
    return ws, outcomes, timings, learned, index_seconds


def _kb_meta(ws: _Workspace, missing: list[str]) -> dict[str, Any]:
    return {
        "created": ws.kb.created,
        "updated": ws.kb.updated,
        "unchanged": ws.kb.unchanged,
        "skipped": list(ws.kb.skipped),
        "missing_labelled_articles": missing,
    }


def run_evaluation(
    runtime: Runtime,
    data: EvalData,
    *,
    progress: Progress | None = None,
    outcomes_out: list[Outcome] | None = None,
) -> dict[str, Any]:
    """Build the workspace, learn, send the queries, and return the figures (a JSON object).

    With ``data.folds``, once per fold (see the module docstring). ``outcomes_out``, when
    given, receives every query's :class:`Outcome`, in the queries' order."""
    started = time.perf_counter()
    steps = _Steps(progress)
    if not data.folds:
        ws, outcomes, timings, learned, index_seconds = _run_once(
            runtime, data, data.learn, data.queries, steps
        )
        meta: dict[str, Any] = {"workspace": ws.slug}
    else:
        plan = plan_folds(data.queries, data.folds)
        by_position: dict[int, Outcome] = {}
        timings = []
        learned = 0
        index_seconds = 0.0
        runs: list[dict[str, Any]] = []
        for fold, positions in enumerate(plan):
            inside = set(positions)
            learn = [m for i, m in enumerate(data.queries) if i not in inside]
            queries = [data.queries[i] for i in positions]
            ws, fold_outcomes, fold_timings, fold_learned, seconds = _run_once(
                runtime, data, learn, queries, steps, fold
            )
            by_position.update(zip(positions, fold_outcomes, strict=True))
            timings.extend(fold_timings)
            learned += fold_learned
            index_seconds += seconds
            runs.append(
                {
                    "workspace": ws.slug,
                    "learned": fold_learned,
                    "scored": len(queries),
                    "learned_ids": [m.id for m in learn],
                    "scored_ids": [m.id for m in queries],
                }
            )
        outcomes = [by_position[i] for i in range(len(data.queries))]
        meta = {"workspace": None, "folds": runs}
    missing = sorted(
        {q.expected.article_id for q in data.queries if q.expected.article_id} - ws.article_ids
    )
    if missing:
        log.warning("labelled articles not in the knowledge base: %s", ", ".join(missing))
    meta["kb"] = _kb_meta(ws, missing)
    if outcomes_out is not None:
        outcomes_out.extend(outcomes)
    result = score(outcomes)
    if data.folds:
        result["folds"] = data.folds
    result["timings_ms"] = _timing_summary(timings)
    result["meta"] = {
        **meta,
        "knowledge_models": runtime.settings.knowledge_models,
        "customers": len(data.customers),
        "teams": len(data.teams),
        "learned": learned,
        "index_seconds": round(index_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return result

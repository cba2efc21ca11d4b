"""The learned router (F16): what it learns from, training, JSON parameters, prediction, the
per-process cache, the nightly job and ``frontdesk router train``. Fake (hashing) embedders:
these test the mechanics; benchmarks/routing.py measures the quality with the real models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.config import Settings, get_settings
from frontdesk.conversations.actions import (
    access_conversation,
    do_assign,
    do_change_priority,
    do_change_status,
    do_set_tags,
)
from frontdesk.conversations.events import Actor
from frontdesk.evaluation.helios import load_customers, load_messages
from frontdesk.knowledge.embedders import HashingEmbedder
from frontdesk.routing import learned
from frontdesk.routing.classifier import LinearModel, choose_threshold, fit_linear, fold_ids
from frontdesk.routing.features import embed
from frontdesk.routing.jobs import retrain_routers, workspaces_to_retrain
from frontdesk.routing.learned import (
    Example,
    RoutePrediction,
    fit_router,
    history,
    kb_weak_examples,
    load_models,
    predict_route,
    train_router,
)
from frontdesk.runtime import Runtime, install
from frontdesk.store.database import Database
from frontdesk.store.models import Conversation, KbArticle, KbExample, RouterModel, Workspace
from tests.conftest import make_settings, shared_data
from tests.factories import make_agent, make_customer, make_message, make_team, make_workspace

runner = CliRunner()

TEXTS = {
    "billing": [
        "I was charged twice on my invoice this month",
        "please refund the double payment on my card",
        "my invoice shows the wrong amount",
        "where is the refund for my last payment",
        "the invoice total is wrong, I paid already",
        "payment failed on my credit card invoice",
        "can I get a refund of the invoice",
        "why was my card charged twice for one invoice",
    ],
    "engineers": [
        "the app crashes when I log in",
        "I cannot log in to the app, password reset fails",
        "app login error after the update",
        "the app shows a login error every time",
        "password reset email never arrives for the app",
        "after the update the app crashes at login",
        "login to the app fails with an error",
        "reset my password, the app rejects it",
    ],
    "shop": [
        "where is my order, the tracking number does not work",
        "I want to return the cable I ordered",
        "my order shipping is late",
        "the parcel tracking shows nothing for my order",
        "return and replacement of a broken order",
        "order arrived damaged, I want a replacement shipped",
        "shipping of my order takes too long",
        "tracking number of my order please",
    ],
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url, knowledge_models="hashing")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    learned.clear_cache()
    yield
    learned.clear_cache()


@dataclass
class World:
    workspace_id: int
    teams: dict[str, int]
    agent_id: int


def _past(
    session: Session,
    world: World,
    text: str,
    team: str | None,
    *,
    priority: str = "normal",
    status: str = "resolved",
    tags: list[str] | None = None,
    vip: bool = False,
) -> int:
    workspace = session.get(Workspace, world.workspace_id)
    assert workspace is not None
    customer = make_customer(session, workspace, attributes={"vip": vip})
    result = make_message(session, workspace, customer, text)
    conversation = access_conversation(session, world.workspace_id, result.conversation_id)
    actor = Actor("agent", world.agent_id)
    if team is not None:
        do_assign(session, conversation, team_id=world.teams[team], assignee_id=None, actor=actor)
    do_change_priority(session, conversation, priority, actor=actor)
    if tags:
        do_set_tags(session, conversation, tags, actor=actor)
    if status != "open":
        do_change_status(session, conversation, status, actor=actor)
    return conversation.id


def _world(runtime: Runtime, *, per_team: int = 8) -> World:
    with runtime.db.write() as session:
        workspace = make_workspace(session, "Router Co")
        agent = make_agent(session, workspace)
        teams = {name: make_team(session, workspace, name).id for name in TEXTS}
        world = World(workspace.id, teams, agent.id)
        for team, texts in TEXTS.items():
            for i, text in enumerate(texts[:per_team]):
                angry = i % 4 == 0
                _past(
                    session,
                    world,
                    text.upper() + "!!!" if angry else text,
                    team,
                    priority="high" if angry else "normal",
                    tags=[team] if i % 2 == 0 else None,
                )
    return world


def _conversation(runtime: Runtime, world: World, session: Session, text: str) -> Conversation:
    workspace = session.get(Workspace, world.workspace_id)
    assert workspace is not None
    customer = make_customer(session, workspace)
    result = make_message(session, workspace, customer, text)
    return access_conversation(session, world.workspace_id, result.conversation_id)


def test_trains_and_routes_clear_cases(runtime: Runtime) -> None:
    world = _world(runtime)
    with runtime.db.write() as session:
        # an article an agent resolved a billing conversation with: a weak billing example
        session.add(
            KbArticle(
                workspace_id=world.workspace_id,
                key="refunds",
                language="en",
                title="Refunds and double charges",
                body="# Refunds\n\nA refund of a double charge reaches your card in 5 days.",
                status="published",
            )
        )
        billing = session.scalars(
            select(Conversation.id).where(Conversation.team_id == world.teams["billing"])
        ).first()
        session.add(
            KbExample(
                workspace_id=world.workspace_id,
                article_key="refunds",
                language="en",
                text="refund",
                source="learned",
                conversation_id=billing,
            )
        )
        session.flush()
        weak = kb_weak_examples(session, world.workspace_id)
        assert [(w.team, w.text) for w in weak] == [
            (
                str(world.teams["billing"]),
                "Refunds and double charges\nA refund of a double charge reaches your card in 5 days.",
            )
        ]
        report = train_router(session, world.workspace_id)
    assert report.ok, report.message
    assert report.articles == 1
    assert report.conversations == 24
    assert set(report.trained) == {"team", "priority", "category"}
    assert report.trained["team"]["accuracy"] >= 0.8
    assert report.trained["team"]["folds"] == 5
    with runtime.db.read() as session:
        rows = session.scalars(
            select(RouterModel).where(RouterModel.workspace_id == world.workspace_id)
        ).all()
        assert sorted(r.kind for r in rows) == ["category", "priority", "team"]
        team_row = next(r for r in rows if r.kind == "team")
        assert team_row.examples == 24 and team_row.metrics["accuracy"] >= 0.8
        assert json.loads(json.dumps(team_row.params)) == team_row.params  # plain JSON

    cases = {
        "I was charged twice, please refund my invoice": "billing",
        "the app login fails after I reset my password": "engineers",
        "the tracking number of my order shows nothing": "shop",
    }
    with runtime.db.write() as session:
        for text, team in cases.items():
            conversation = _conversation(runtime, world, session, text)
            prediction = predict_route(session, world.workspace_id, conversation, text, "en")
            assert isinstance(prediction, RoutePrediction)
            assert prediction.team_id == world.teams[team], text
            assert prediction.confident and prediction.team_confidence >= prediction.threshold
            assert prediction.priority == "normal"
            assert 0.0 < prediction.priority_confidence <= 1.0

        nonsense = "qzx vvk pwf jjq"
        conversation = _conversation(runtime, world, session, nonsense)
        prediction = predict_route(session, world.workspace_id, conversation, nonsense, None)
        assert prediction is not None
        assert not prediction.confident and prediction.team_confidence < prediction.threshold

        angry = "I WAS CHARGED TWICE ON MY INVOICE, REFUND IT NOW!!!"
        conversation = _conversation(runtime, world, session, angry)
        prediction = predict_route(session, world.workspace_id, conversation, angry, "en")
        assert prediction is not None and prediction.priority == "high"
        assert prediction.team_id == world.teams["billing"]


def test_too_little_data_trains_nothing(runtime: Runtime) -> None:
    world = _world(runtime, per_team=2)  # 6 conversations
    with runtime.db.write() as session:
        report = train_router(session, world.workspace_id)
        assert not report.ok and report.trained == {}
        assert "at least 10 conversations on 2 teams" in report.message
        assert session.scalar(select(func.count()).select_from(RouterModel)) == 0
        conversation = _conversation(runtime, world, session, "my invoice is wrong")
        assert predict_route(session, world.workspace_id, conversation, "x", "en") is None


def test_one_team_only_trains_nothing(runtime: Runtime) -> None:
    with runtime.db.write() as session:
        workspace = make_workspace(session, "One Team")
        agent = make_agent(session, workspace)
        world = World(
            workspace.id, {"billing": make_team(session, workspace, "billing").id}, agent.id
        )
        for text in TEXTS["billing"] * 2:
            _past(session, world, text, "billing")
        report = train_router(session, world.workspace_id)
    assert not report.ok and "1 teams" in report.message


def test_history_reads_final_team_of_handled_conversations(runtime: Runtime) -> None:
    world = _world(runtime, per_team=1)
    with runtime.db.write() as session:
        moved = _past(session, world, "moved from billing to shop", "billing")
        conversation = access_conversation(session, world.workspace_id, moved)
        do_assign(
            session,
            conversation,
            team_id=world.teams["shop"],
            assignee_id=None,
            actor=Actor("agent", world.agent_id),
        )
        _past(session, world, "still open and handled by an agent", "engineers", status="open")
        _past(session, world, "open, nobody routed it", None, status="open")
        workspace = session.get(Workspace, world.workspace_id)
        assert workspace is not None
        bot_routed = make_message(session, workspace, make_customer(session, workspace), "bot")
        do_assign(
            session,
            access_conversation(session, world.workspace_id, bot_routed.conversation_id),
            team_id=world.teams["shop"],
            assignee_id=None,
            actor=Actor("system"),
        )
        examples = {e.text: e for e in history(session, world.workspace_id)}
    shop, engineers = str(world.teams["shop"]), str(world.teams["engineers"])
    assert examples["moved from billing to shop"].team == shop
    assert examples["still open and handled by an agent"].team == engineers
    assert "open, nobody routed it" not in examples and "bot" not in examples
    assert len(examples) == 5


def test_params_round_trip_through_json() -> None:
    rng = np.random.default_rng(3)
    features = np.vstack([rng.normal(i, 0.3, size=(10, 6)) for i in range(3)])
    labels = [c for c in "abc" for _ in range(10)]
    model = fit_linear(features, labels, c=1.0, standardise=slice(4, None))
    model.temperature, model.threshold = 1.7, 0.42
    again = LinearModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.classes == ["a", "b", "c"] and again.threshold == 0.42
    assert np.allclose(again.predict_proba(features), model.predict_proba(features), atol=1e-5)
    binary = fit_linear(features[:20], labels[:20], c=1.0)
    assert binary.coef.shape == (2, 6)
    assert (binary.predict_proba(features[:20]).argmax(axis=1) == [0] * 10 + [1] * 10).all()
    with pytest.raises(ValueError, match="format"):
        LinearModel.from_json({**model.to_json(), "format": 99})


def test_cache_reloads_when_a_newer_model_exists(runtime: Runtime) -> None:
    world = _world(runtime)
    with runtime.db.write() as session:
        first = train_router(session, world.workspace_id)
    with runtime.db.read() as session:
        models = load_models(session, world.workspace_id)
        assert load_models(session, world.workspace_id) is models  # cached
    with runtime.db.write() as session:
        second = train_router(session, world.workspace_id)
    assert second.model_ids["team"] > first.model_ids["team"]
    with runtime.db.read() as session:
        reloaded = load_models(session, world.workspace_id)
    assert reloaded is not models and set(reloaded) == {"team", "priority", "category"}


def test_nightly_job_retrains_workspaces_with_new_resolved_conversations(
    runtime: Runtime,
) -> None:
    install(runtime)
    world = _world(runtime)
    with runtime.db.read() as session:
        assert world.workspace_id in workspaces_to_retrain(session)
    retrain_routers()
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(RouterModel)) == 3
        assert world.workspace_id not in workspaces_to_retrain(session)
    with runtime.db.write() as session:
        _past(session, world, "another refund for my invoice", "billing")
    with runtime.db.read() as session:
        assert world.workspace_id in workspaces_to_retrain(session)


def test_router_train_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", "")
    monkeypatch.setenv("FRONTDESK_REDIS_URL", "")
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE_MODELS", "hashing")
    monkeypatch.setenv("FRONTDESK_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    try:
        assert runner.invoke(app, ["workspace", "create", "Tiny", "--slug", "tiny"]).exit_code == 0
        runtime = Runtime.build(get_settings())
        try:
            with runtime.db.write() as session:
                workspace = session.scalars(select(Workspace).where(Workspace.slug == "tiny")).one()
                agent = make_agent(session, workspace)
                teams = {name: make_team(session, workspace, name).id for name in TEXTS}
                world = World(workspace.id, teams, agent.id)
                _past(session, world, TEXTS["billing"][0], "billing")
        finally:
            runtime.close()
        too_few = runner.invoke(app, ["router", "train", "--workspace", "tiny"])
        assert too_few.exit_code == 2 and "no model was trained" in too_few.output

        runtime = Runtime.build(get_settings())
        try:
            with runtime.db.write() as session:
                for team, texts in TEXTS.items():
                    for text in texts[1:] if team == "billing" else texts:
                        _past(session, world, text, team)
        finally:
            runtime.close()
        result = runner.invoke(app, ["router", "train", "--workspace", "tiny"])
        assert result.exit_code == 0, result.output
        assert "trained on 24 conversations" in result.output
        assert "team: cross-validated accuracy" in result.output
        assert "category: not trained" in result.output  # no tags
        assert "priority: not trained" in result.output  # all normal
        db = Database(get_settings().effective_database_url)
        with db.read() as session:
            kinds = session.scalars(select(RouterModel.kind).order_by(RouterModel.kind)).all()
        db.dispose()
        assert kinds == ["team"]
        unknown = runner.invoke(app, ["router", "train", "--workspace", "nope"])
        assert unknown.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_helios_dev_k_fold_mechanics() -> None:
    """The benchmark's k-fold on the real dev file, with fake embedders (the real figures:
    benchmarks/routing.py)."""
    folder = shared_data("helios")
    customers = {c.id: c.attributes for c in load_customers(folder / "customers.jsonl")}
    messages = load_messages(folder / "dev.jsonl")
    examples = [
        Example(
            m.text,
            m.channel,
            customers.get(m.customer_id or "", {}),
            m.expected.team,
            m.expected.priority,
            None,
            m.language,
        )
        for m in messages
    ]
    embedders = [HashingEmbedder("e5"), HashingEmbedder("use")]
    groups = [" ".join(e.text.lower().split()) for e in examples]
    assignment = fold_ids([e.team for e in examples], 5, groups=groups)
    for fold in range(5):  # the same text is never on both sides
        assert not {g for g, a in zip(groups, assignment, strict=True) if a == fold} & {
            g for g, a in zip(groups, assignment, strict=True) if a != fold
        }
    train = [e for e, a in zip(examples, assignment, strict=True) if a != 0]
    test = [e for e, a in zip(examples, assignment, strict=True) if a == 0]
    models, skipped = fit_router(train, embedders, kinds=("team", "priority"))
    assert set(models) == {"team", "priority"} and not skipped
    assert set(models["team"].classes) <= {
        "billing",
        "tech_support",
        "field_service",
        "sales",
        "retention",
        "shop",
        "triage",
    }
    features = embed(embedders, [e.text for e in test])
    probs = models["team"].predict_proba(features)
    assert probs.shape == (len(test), len(models["team"].classes))
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_description_texts_split_into_phrases() -> None:
    assert learned.description_texts("Invoices, payments,  refunds.") == [
        "Invoices, payments, refunds.",
        "Invoices",
        "payments",
        "refunds",
    ]
    assert learned.description_texts("Anything unclear") == ["Anything unclear"]
    assert learned.description_texts("  ") == []
    weak = learned.description_examples([("7", "Invoices, refunds"), ("8", "")])
    assert [(w.team, w.text, w.weight) for w in weak] == [
        ("7", "Invoices, refunds", 1.0),
        ("7", "Invoices", 1.0),
        ("7", "refunds", 1.0),
    ]


def test_choose_threshold_maximises_routed_accuracy() -> None:
    predicted = ["a", "a", "b", "b"]
    confidence = [0.9, 0.3, 0.8, 0.2]
    # the unsure ones are wrong: a threshold between 0.3 and 0.8 sends them to triage, which
    # is right for the one labelled triage and no worse than a wrong team for the other
    labels = ["a", "b", "b", "t"]
    threshold = choose_threshold(predicted, confidence, labels, triage_labels=["t"])
    assert 0.3 < threshold <= 0.8
    # all right: every threshold up to 0.2 ties; the one nearest 0.5 of those wins
    assert choose_threshold(predicted, confidence, ["a", "a", "b", "b"]) == 0.2
    assert choose_threshold([], [], []) == 0.5


def test_sample_weight_down_weighs_examples() -> None:
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.95, 0.05]])
    labels = ["a", "a", "b", "b", "b"]  # the last contradicts its neighbours
    heavy = fit_linear(x, labels, c=100.0, sample_weight=[1, 1, 1, 1, 20])
    light = fit_linear(x, labels, c=100.0, sample_weight=[1, 1, 1, 1, 0.01])
    probe = np.array([[0.97, 0.03]])
    b = heavy.classes.index("b")
    assert heavy.predict_proba(probe)[0][b] > light.predict_proba(probe)[0][b]


def test_greek_reads_a_model_without_use() -> None:
    """A team model trained on examples with Greek among them carries a second model on the
    e5 columns alone (USE reads Greek badly), which team_decision applies to Greek only."""
    embedders = [HashingEmbedder("e5"), HashingEmbedder("use")]
    examples = [
        Example(text, None, {}, team, "normal", None, "el" if i % 3 == 0 else "en")
        for team, texts in TEXTS.items()
        for i, text in enumerate(texts)
    ]
    models, _ = fit_router(examples, embedders, kinds=("team",))
    team = models["team"]
    entry = team.extra["by_language"]["el"]
    assert entry["embedders"] == ["e5"]
    sub = LinearModel.from_json(entry["model"])
    assert sub.dim == embedders[0].dim and 0.05 <= sub.threshold <= 0.9
    vectors = embed(embedders, ["my invoice is wrong", "my invoice is wrong"])
    teams, confidence, thresholds = learned.team_decision(team, embedders, vectors, ["el", "en"])
    own = sub.predict_proba(vectors[:, : embedders[0].dim])[0]
    assert teams[0] == sub.classes[int(own.argmax())]
    assert thresholds[0] == sub.threshold and thresholds[1] == team.threshold
    assert teams[1] == team.classes[int(team.predict_proba(vectors)[1].argmax())]
    assert 0.0 <= confidence.min() and confidence.max() <= 1.0
    # a model without Greek examples has no Greek model
    english = [e for e in examples if e.language == "en"]
    assert fit_router(english, embedders, kinds=("team",))[0]["team"].extra["by_language"] == {}


def test_team_descriptions_are_weak_examples(runtime: Runtime) -> None:
    """A team no past conversation ended on is learned from its description alone; a team
    named triage is where sending to triage is right."""
    world = _world(runtime)
    with runtime.db.write() as session:
        workspace = session.get(Workspace, world.workspace_id)
        assert workspace is not None
        sales = make_team(session, workspace, "Sales")
        sales.description = "Prices, quotes, offers, discounts"
        triage = make_team(session, workspace, "Triage")
        session.flush()
        assert learned.triage_teams(session, world.workspace_id) == [str(triage.id)]
        report = train_router(session, world.workspace_id)
        assert report.ok, report.message
        team = load_models(session, world.workspace_id)["team"]
        assert str(sales.id) in team.classes
        assert 0.05 <= team.threshold <= 0.9
        assert team.extra["metrics"]["threshold"] == team.threshold

"""``frontdesk eval`` end to end, with the fast fake embedders (FRONTDESK_KNOWLEDGE_MODELS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.config import get_settings
from frontdesk.evaluation.helios import Expected, LabelledMessage
from frontdesk.evaluation.run import plan_folds
from frontdesk.evaluation.scoring import FIGURES
from frontdesk.store.database import Database
from frontdesk.store.models import (
    Conversation,
    Customer,
    KbExample,
    KbNegativeExample,
    Team,
    Workspace,
)
from tests.conftest import shared_data

runner = CliRunner()

ARTICLES = {
    "reset-password.md": (
        "reset-password",
        "Reset your password",
        "en",
        "Open the app, tap Forgot password and follow the link we email you. "
        "The link is valid for one hour.",
    ),
    "reset-password.th.md": (
        "reset-password",
        "รีเซ็ตรหัสผ่าน",
        "th",
        "เปิดแอป แตะลืมรหัสผ่าน แล้วทำตามลิงก์ที่เราส่งทางอีเมล",
    ),
    "track-order.md": (
        "track-order",
        "Track your order",
        "en",
        "Your order ships within three days. The tracking number is in the shipping email.",
    ),
}


def article(key: str, title: str, language: str, body: str) -> str:
    translation = f'translation_of: "{key}"\n' if language != "en" else ""
    return (
        f'---\nid: "{key}"\ntitle: "{title}"\ncollection: "help"\nlanguage: "{language}"\n'
        f"{translation}tags: [help]\n---\n{body}\n"
    )


def labelled(
    id: str, text: str, customer: str | None, action: str, article: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": id,
        "text": text,
        "language": extra.pop("language", "en"),
        "customer_id": customer,
        "channel": extra.pop("channel", "chat"),
        "page_url": extra.pop("page_url", None),
        "expected": {
            "action": action,
            "article_id": article,
            "team": extra.pop("team", "tech_support"),
            "priority": extra.pop("priority", "normal"),
            "reason": extra.pop("reason", "answerable" if action == "answer" else "needs_person"),
        },
    }


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", "")
    monkeypatch.setenv("FRONTDESK_REDIS_URL", "")
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE_MODELS", "hashing")
    monkeypatch.setenv("FRONTDESK_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, fields in ARTICLES.items():
        (kb / name).write_text(article(*fields), encoding="utf-8")
    (kb / "broken.md").write_text("no front matter here", encoding="utf-8")
    customers = write_jsonl(
        tmp_path / "customers.jsonl",
        [
            {
                "id": "c1",
                "name": "Emma Clarke",
                "email": "emma@example.com",
                "language": "en",
                "plan": "plus",
                "company_type": "household",
                "signup_date": "2023-04-11",
                "lifetime_spend_eur": 14200,
                "trial": False,
                "vip": True,
                "at_risk": False,
                "products": ["panels", "battery"],
            },
            {"id": "c2", "name": "Somchai", "email": None, "language": "th"},
        ],
    )
    teams = tmp_path / "teams.json"
    teams.write_text(
        json.dumps(
            [
                {"id": "tech_support", "description": "App and account."},
                {"id": "shop", "description": "Orders and shipping."},
                {"id": "triage", "description": "Anything unclear."},
            ]
        )
    )
    queries = write_jsonl(
        tmp_path / "queries.jsonl",
        [
            labelled("q1", "How do I reset my password?", "c1", "answer", "reset-password"),
            labelled(
                "q2",
                "ลืมรหัสผ่าน ทำยังไงดี",
                "c2",
                "answer",
                "reset-password",
                language="th",
            ),
            labelled(
                "q3",
                "Subject: my order\n\nHi, where is my order? Thanks, Emma",
                None,
                "answer",
                "track-order",
                channel="email",
                team="shop",
                page_url="https://shop.example/orders",
            ),
            labelled(
                "q4",
                "I want to talk to a human",
                None,
                "handoff",
                None,
                team="triage",
                reason="human_request",
            ),
            labelled(
                "q5",
                "what is the capital of France",
                "c1",
                "handoff",
                None,
                team="triage",
                priority="low",
                reason="out_of_scope",
            ),
        ],
    )
    learn = write_jsonl(
        tmp_path / "learn.jsonl",
        [
            labelled("l1", "I forgot my login password, help", "c1", "answer", "reset-password"),
            labelled(
                "l2", "Do you ship the charger to Iceland", "c2", "handoff", None, team="shop"
            ),
        ],
    )
    return {"kb": kb, "customers": customers, "teams": teams, "queries": queries, "learn": learn}


def args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "eval",
        "--kb",
        str(files["kb"]),
        "--customers",
        str(files["customers"]),
        "--teams",
        str(files["teams"]),
        "--queries",
        str(files["queries"]),
        *extra,
    ]


def check_figures(result: dict[str, Any]) -> None:
    for name in FIGURES:
        assert name in result, name
        value = result[name]
        assert value is None or (isinstance(value, float | int) and 0 <= value <= 1), name
    assert set(result["latency_ms"]) == {"p50", "p95"}


def test_eval_json_is_one_object_on_stdout(env: Path, files: dict[str, Path]) -> None:
    details = env / "details.jsonl"
    result = runner.invoke(
        app, args(files, "--learn", str(files["learn"]), "--json", "--details", str(details))
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # nothing else on stdout
    assert report["queries"] == 5
    check_figures(report)
    assert set(report["by_language"]) == {"en", "th"}
    check_figures(report["by_language"]["th"])
    assert report["latency_ms"]["p50"] is not None and report["latency_ms"]["p50"] >= 0
    assert "bot" in report["timings_ms"] or "language" in report["timings_ms"]
    meta = report["meta"]
    assert meta["kb"]["created"] == 3 and len(meta["kb"]["skipped"]) == 1
    assert "broken.md" in meta["kb"]["skipped"][0]
    assert meta["customers"] == 2 and meta["teams"] == 3 and meta["learned"] == 2
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", "q3", "q4", "q5"]
    assert not (env / "data" / "frontdesk.db").exists()  # a temporary database


def test_eval_table(env: Path, files: dict[str, Path]) -> None:
    result = runner.invoke(app, args(files))
    assert result.exit_code == 0, result.output
    for name in ("answer_precision", "answer_coverage", "human_request_recall", "team_accuracy"):
        assert name in result.stdout
    assert "0 past conversations learned" in " ".join(result.stdout.split())


def test_eval_on_a_given_database_keeps_the_workspace(
    env: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{env / 'kept.db'}"
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, args(files, "--learn", str(files["learn"]), "--json"))
    assert result.exit_code == 0, result.output
    slug = json.loads(result.stdout)["meta"]["workspace"]
    db = Database(url)
    with db.read() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
        assert workspace is not None
        emma = session.scalar(
            select(Customer).where(
                Customer.workspace_id == workspace.id, Customer.external_id == "c1"
            )
        )
        assert emma is not None and emma.name == "Emma Clarke" and emma.language == "en"
        assert emma.attributes["vip"] is True and emma.attributes["products"] == [
            "panels",
            "battery",
        ]
        assert emma.attributes["lifetime_spend_eur"] == 14200 == emma.attributes["spend"]
        teams = {t.slug: t.id for t in session.scalars(select(Team))}
        assert set(teams) == {"tech_support", "shop", "triage"}
        # the agent's resolution with the help-center link became a learned example
        examples = session.scalars(
            select(KbExample).where(KbExample.workspace_id == workspace.id)
        ).all()
        assert [(e.article_key, e.source) for e in examples] == [("reset-password", "learned")]
        assert examples[0].text == "I forgot my login password, help"
        # the handoff the bot had decided on (no guardrail), which the team's agent answered
        # without an article and resolved, became a negative example
        handled = session.scalars(
            select(KbNegativeExample).where(KbNegativeExample.workspace_id == workspace.id)
        ).all()
        assert [n.text for n in handled] == ["Do you ship the charger to Iceland"]
        # the handoff to learn from went to its team
        shop_conversations = session.scalars(
            select(Conversation).where(
                Conversation.workspace_id == workspace.id, Conversation.team_id == teams["shop"]
            )
        ).all()
        assert len(shop_conversations) >= 1
        # every query became a conversation of its own (plus the two learned ones)
        count = len(
            session.scalars(
                select(Conversation.id).where(Conversation.workspace_id == workspace.id)
            ).all()
        )
        assert count == 7
    db.dispose()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"queries": "missing.jsonl"}, "missing.jsonl does not exist"),
        ({"kb": "nokb"}, "nokb does not exist"),
        ({"queries": "bad.jsonl"}, "bad.jsonl:2: not valid JSON"),
        ({"queries": "unknown.jsonl"}, "customer 'c77' is not in customers.jsonl"),
        ({"kb": "empty"}, "No article could be imported"),
    ],
)
def test_bad_input_is_a_clear_error(
    env: Path, files: dict[str, Path], change: dict[str, str], message: str
) -> None:
    write_jsonl(env / "unknown.jsonl", [labelled("x", "hello there", "c77", "answer", "a")])
    (env / "bad.jsonl").write_text(
        json.dumps(labelled("x", "hello", None, "answer", "a")) + "\n{oops\n", encoding="utf-8"
    )
    (env / "empty").mkdir()
    changed = {**files, **{key: env / value for key, value in change.items()}}
    result = runner.invoke(app, args(changed))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_eval_on_the_helios_benchmark(env: Path) -> None:
    helios = shared_data("helios")
    result = runner.invoke(
        app,
        [
            "eval",
            "--kb",
            str(helios / "kb"),
            "--customers",
            str(helios / "customers.jsonl"),
            "--teams",
            str(helios / "teams.json"),
            "--queries",
            str(helios / "dev.jsonl"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queries"] == 119
    check_figures(report)
    assert set(report["by_language"]) == {"en", "th", "el", "zh", "id", "es", "de"}
    for figures in report["by_language"].values():
        check_figures(figures)
    assert report["meta"]["kb"]["created"] == 46 and report["meta"]["kb"]["skipped"] == []


# ----- k-fold ----------------------------------------------------------------------------------


def messages(n: int, languages: tuple[str, ...] = ("en", "th", "de")) -> list[LabelledMessage]:
    expected = Expected("answer", "reset-password", "tech_support", "normal", "answerable")
    return [
        LabelledMessage(
            f"m{i}",
            f"question {i}",
            languages[i % len(languages)],
            None,
            "chat",
            None,
            expected,
            "",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(("n", "k"), [(10, 2), (17, 5), (119, 5), (5, 5)])
def test_folds_partition_the_messages(n: int, k: int) -> None:
    items = messages(n)
    folds = plan_folds(items, k)
    assert len(folds) == k
    flat = [i for fold in folds for i in fold]
    assert sorted(flat) == list(range(n))  # every message in exactly one fold
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    for fold in folds:
        assert fold == sorted(fold)
        # stratified: each language's share differs by one message at most between folds
    for language in ("en", "th", "de"):
        counts = [sum(1 for i in fold if items[i].language == language) for fold in folds]
        assert max(counts) - min(counts) <= 1
    assert plan_folds(items, k) == folds  # seeded: the same split every run
    assert plan_folds(items, k, seed=99) != folds or n == k


def test_folds_must_be_between_two_and_the_number_of_messages() -> None:
    with pytest.raises(ValueError, match="k must be from 2"):
        plan_folds(messages(3), 4)
    with pytest.raises(ValueError, match="k must be from 2"):
        plan_folds(messages(3), 1)


def test_eval_folds_learn_only_from_the_other_folds(
    env: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{env / 'folds.db'}"
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", url)
    get_settings.cache_clear()
    details = env / "details.jsonl"
    result = runner.invoke(app, args(files, "--folds", "2", "--json", "--details", str(details)))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    check_figures(report)
    assert report["folds"] == 2 and report["queries"] == 5
    runs = report["meta"]["folds"]
    assert len(runs) == 2
    all_ids = ["q1", "q2", "q3", "q4", "q5"]
    scored = [i for run in runs for i in run["scored_ids"]]
    assert sorted(scored) == all_ids  # each query scored once, by one fold
    for run in runs:
        # no message is learned and scored in the same fold; all the others are learned
        assert not set(run["learned_ids"]) & set(run["scored_ids"])
        assert sorted(run["learned_ids"] + run["scored_ids"]) == all_ids
        assert run["learned"] == len(run["learned_ids"])
    assert report["meta"]["learned"] == 5
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert [line["id"] for line in lines] == all_ids  # the queries' order
    by_fold = {i: n for n, run in enumerate(runs) for i in run["scored_ids"]}
    assert all(line["fold"] == by_fold[line["id"]] for line in lines)

    # Each fold is a workspace of its own that learned from the other fold's conversations.
    db = Database(url)
    with db.read() as session:
        for run in runs:
            workspace = session.scalar(select(Workspace).where(Workspace.slug == run["workspace"]))
            assert workspace is not None
            examples = {
                e.text
                for e in session.scalars(
                    select(KbExample).where(KbExample.workspace_id == workspace.id)
                )
            }
            texts = {
                "q1": "How do I reset my password?",
                "q2": "ลืมรหัสผ่าน ทำยังไงดี",
                "q3": "Subject: my order\n\nHi, where is my order? Thanks, Emma",
            }
            learned_answers = {" ".join(texts[i].split()) for i in run["learned_ids"] if i in texts}
            assert examples == learned_answers
            learned_negatives = {
                n.text
                for n in session.scalars(
                    select(KbNegativeExample).where(KbNegativeExample.workspace_id == workspace.id)
                )
            }
            # no negatives: q4 asked for a person, and q5 (out of scope) comes from a VIP
            # customer, whom the guardrails hand to a person before the bot has its turn
            assert learned_negatives == set()
    db.dispose()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--folds", "1"), "--folds must be from 2 to the number of queries (5), not 1"),
        (("--folds", "6"), "--folds must be from 2 to the number of queries (5), not 6"),
        (("--folds", "2", "--learn", "LEARN"), "leave out --learn"),
    ],
)
def test_bad_folds_are_a_clear_error(
    env: Path, files: dict[str, Path], extra: tuple[str, ...], message: str
) -> None:
    extra = tuple(str(files["learn"]) if e == "LEARN" else e for e in extra)
    result = runner.invoke(app, args(files, *extra))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output

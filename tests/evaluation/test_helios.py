"""Reading the benchmark files: every problem names the file and the line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from frontdesk.evaluation.helios import DataError, load_customers, load_messages, load_teams
from frontdesk.evaluation.run import load_data
from tests.conftest import shared_data


def write_lines(path: Path, *items: object) -> Path:
    path.write_text(
        "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n",
        encoding="utf-8",
    )
    return path


def message(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": "m1",
        "text": "how do I reset my password?",
        "language": "en",
        "customer_id": None,
        "channel": "chat",
        "page_url": None,
        "expected": {
            "action": "answer",
            "article_id": "reset-password",
            "team": "tech_support",
            "priority": "normal",
            "reason": "answerable",
        },
    }
    item.update(overrides)
    return item


def test_the_real_files_load() -> None:
    helios = shared_data("helios")
    customers = load_customers(helios / "customers.jsonl")
    assert len(customers) == 40
    assert {"plan", "vip", "lifetime_spend_eur", "products"} <= set(customers[0].attributes)
    assert len(load_teams(helios / "teams.json")) == 7
    dev = load_messages(helios / "dev.jsonl")
    assert len(dev) == 119 and {m.expected.action for m in dev} == {"answer", "handoff"}


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", message(), "", '{"id": "m2", "text": ')
    with pytest.raises(DataError, match=r"q\.jsonl:3: not valid JSON"):
        load_messages(path)


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (message(text=""), "'text' is missing"),
        (message(channel="fax"), "channel 'fax'"),
        (message(expected={"action": "maybe"}), "answer or handoff"),
        (message(expected={"action": "answer"}), "needs an expected article_id"),
        (message(expected={"action": "handoff", "priority": "asap"}), "priority"),
        (message(expected=None), "'expected' is missing"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_messages_are_refused(tmp_path: Path, item: object, error: str) -> None:
    path = write_lines(tmp_path / "q.jsonl", item)
    with pytest.raises(DataError, match=re.escape("q.jsonl:1")) as caught:
        load_messages(path)
    assert error in caught.value.message


def test_duplicates_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=re.escape("already on q.jsonl:1")):
        load_messages(write_lines(tmp_path / "q.jsonl", message(), message()))
    with pytest.raises(DataError, match="does not exist"):
        load_customers(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="holds no messages"):
        load_messages(write_lines(tmp_path / "empty.jsonl", ""))
    teams = tmp_path / "teams.json"
    teams.write_text('[{"id": "a"}, {"id": "a"}]')
    with pytest.raises(DataError, match="appears twice"):
        load_teams(teams)
    teams.write_text('{"id": ')
    with pytest.raises(DataError, match=re.escape("teams.json:1: not valid JSON")):
        load_teams(teams)


def test_load_data_checks_that_the_files_agree(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    customers = write_lines(tmp_path / "c.jsonl", {"id": "c1", "name": "A"})
    teams = tmp_path / "teams.json"
    teams.write_text('[{"id": "tech_support"}]')
    queries = write_lines(tmp_path / "q.jsonl", message(customer_id="c9"))
    with pytest.raises(DataError, match=r"q\.jsonl:1: customer 'c9' is not in c\.jsonl"):
        load_data(tmp_path / "kb", customers, teams, queries)
    queries = write_lines(tmp_path / "q.jsonl", message(customer_id="c1"))
    learn = write_lines(
        tmp_path / "learn.jsonl",
        message(expected={"action": "handoff", "team": "sales", "reason": "policy_pricing"}),
    )
    with pytest.raises(DataError, match=re.escape("team 'sales' is not in teams.json")):
        load_data(tmp_path / "kb", customers, teams, queries, learn)
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "nokb", customers, teams, queries)
    data = load_data(tmp_path / "kb", customers, teams, queries)
    assert data.queries[0].customer_id == "c1" and data.learn == []

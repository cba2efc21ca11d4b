"""``frontdesk eval intents`` (and that ``frontdesk eval --kb ...`` still parses), with the fake
embedders; the real figures come from running it on CLINC150 and Banking77
(docs/evaluation.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.config import get_settings
from frontdesk.evaluation.helios import DataError
from frontdesk.evaluation.intents import (
    IntentData,
    VectorCache,
    evaluate_intents,
    load_intents,
    scores,
)
from frontdesk.knowledge.embedders import HashingEmbedder
from tests.conftest import shared_data

runner = CliRunner()

INTENTS = {
    "balance": ["what is my account balance", "how much money is in my account", "show balance"],
    "weather": ["what is the weather today", "will it rain tomorrow", "weather forecast please"],
    "alarm": ["set an alarm for seven", "wake me up at six with an alarm", "alarm at noon"],
}
OOS_TRAIN = ["tell me a joke about cats", "who won the football match"]


def _jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows), "utf-8"
    )
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
    train = [(t, label) for label, texts in INTENTS.items() for t in texts * 3]
    train += [(t, "oos") for t in OOS_TRAIN]
    val = [(t + " now", label) for label, texts in INTENTS.items() for t in texts]
    val += [("play some jazz music", "oos"), ("translate hello to french", "oos")]
    test = [
        ("what is the balance of my account", "balance"),
        ("is it going to rain, weather", "weather"),
        ("set my alarm for eight", "alarm"),
        ("qqq zzz xxx", "oos"),
    ]
    return {
        "train": _jsonl(tmp_path / "train.jsonl", train),
        "val": _jsonl(tmp_path / "val.jsonl", val),
        "test": _jsonl(tmp_path / "test.jsonl", test),
    }


def test_eval_intents_json(env: Path, files: dict[str, Path]) -> None:
    args = ["eval", "intents", "--train", str(files["train"]), "--test", str(files["test"])]
    result = runner.invoke(app, [*args, "--val", str(files["val"]), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert result.stdout.count("\n") == 1
    assert out["chosen"] in ("threshold", "class") and set(out["modes"]) == {"threshold", "class"}
    for mode in out["modes"].values():
        assert {"accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "threshold"} <= set(mode)
    assert out["in_scope_accuracy"] == 1.0
    assert out["accuracy"] >= 0.75 and 0.0 <= out["oos_recall"] <= 1.0
    assert out["meta"]["tuned_on"] == "val" and out["meta"]["test"]["oos"] == 1
    assert out["meta"]["embedders"] == ["e5", "use"]

    table = runner.invoke(app, args)  # no val: a tenth of train tunes it
    assert table.exit_code == 0, table.output
    assert "frontdesk eval intents" in table.output and "a tenth of train" in table.output


def test_eval_intents_without_oos(env: Path, tmp_path: Path) -> None:
    train = _jsonl(
        tmp_path / "tr.jsonl", [(t, k) for k, texts in INTENTS.items() for t in texts * 4]
    )
    test = _jsonl(tmp_path / "te.jsonl", [("show my account balance", "balance")])
    result = runner.invoke(
        app, ["eval", "intents", "--train", str(train), "--test", str(test), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["modes"]) == {"threshold"} and out["threshold"] == 0.0
    assert out["oos_recall"] is None and out["accuracy"] == 1.0


def test_eval_intents_bad_input(env: Path, tmp_path: Path, files: dict[str, Path]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "label": "a"}\nnot json\n', "utf-8")
    result = runner.invoke(
        app, ["eval", "intents", "--train", str(bad), "--test", str(files["test"])]
    )
    assert result.exit_code == 2 and "bad.jsonl:2" in result.output
    missing = runner.invoke(
        app, ["eval", "intents", "--train", str(tmp_path / "no.jsonl"), "--test", str(bad)]
    )
    assert missing.exit_code == 2 and "no.jsonl" in missing.output
    one = _jsonl(tmp_path / "one.jsonl", [("a", "x"), ("b", "oos")])
    single = runner.invoke(app, ["eval", "intents", "--train", str(one), "--test", str(one)])
    assert single.exit_code == 2 and "two in-scope labels" in single.output


def test_eval_group_keeps_the_product_evaluation(env: Path) -> None:
    missing = runner.invoke(app, ["eval", "--kb", "kb"])
    assert missing.exit_code == 2 and "Missing option '--customers'" in missing.output
    absent = runner.invoke(
        app,
        ["eval", "--kb", "kb", "--customers", "c", "--teams", "t", "--queries", "q"],
    )
    assert absent.exit_code == 2 and "does not exist" in absent.output
    assert "intents" in runner.invoke(app, ["eval", "--help"]).output


def test_vector_cache_round_trip(tmp_path: Path) -> None:
    embedder = HashingEmbedder("e5")
    path = tmp_path / "vectors.npz"
    cache = VectorCache(embedder, path)
    first = cache.embed(["hello there", "good morning", "hello there"])
    assert cache.computed == 2
    cache.save()
    again = VectorCache(embedder, path)
    assert np.allclose(again.embed(["good morning", "hello there"]), first[[1, 0]])
    assert again.computed == 0
    with np.load(path, allow_pickle=False) as data:  # plain arrays, no pickle
        assert set(data.files) == {"keys", "vectors"}


def test_scores() -> None:
    result = scores(["a", "b", "oos", "oos"], ["a", "oos", "oos", "a"])
    assert result["accuracy"] == 0.5 and result["in_scope_accuracy"] == 0.5
    assert result["oos_recall"] == 0.5 and result["oos_precision"] == 0.5


def test_public_intent_files_load_and_run() -> None:
    """The public files parse, and the machinery runs on a slice of them (fake embedders)."""
    folder = shared_data("public")
    clinc = {
        split: load_intents(folder / "clinc150" / f"{split}.jsonl")
        for split in ("train", "val", "test")
    }
    assert [len(d.texts) for d in clinc.values()] == [15_100, 3_100, 5_500]
    assert [d.oos for d in clinc.values()] == [100, 100, 1_000]
    assert len(set(clinc["train"].labels)) == 151
    banking = load_intents(folder / "banking77" / "train.jsonl")
    assert len(banking.texts) == 10_003 and banking.oos == 0 and len(set(banking.labels)) == 77

    keep = [*sorted(set(clinc["train"].labels) - {"oos"})[:5], "oos"]

    def part(data: IntentData, limit: int) -> IntentData:
        rows = [(t, lab) for t, lab in zip(data.texts, data.labels, strict=True) if lab in keep]
        return IntentData(data.path, [t for t, _ in rows[:limit]], [lab for _, lab in rows[:limit]])

    result = evaluate_intents(
        part(clinc["train"], 400),
        part(clinc["test"], 300),
        part(clinc["val"], 200),
        [HashingEmbedder("e5"), HashingEmbedder("use")],
    )
    assert result["meta"]["tuned_on"] == "val" and 0.0 <= result["accuracy"] <= 1.0


def test_load_intents_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", "utf-8")
    with pytest.raises(DataError, match="no examples"):
        load_intents(empty)
    no_label = _jsonl(tmp_path / "x.jsonl", [("hi", "")])
    with pytest.raises(DataError, match="'label'"):
        load_intents(no_label)

"""The admin commands, run as a user would (against a SQLite data folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.accounts.actions import authenticate
from frontdesk.cli import app
from frontdesk.config import get_settings
from frontdesk.store.database import Database

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", "")
    monkeypatch.setenv("FRONTDESK_REDIS_URL", "")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_create_workspace_admin_and_token(data_dir: Path) -> None:
    created = runner.invoke(
        app,
        [
            "workspace",
            "create",
            "Acme Support",
            "--slug",
            "acme",
            "--origin",
            "https://acme.example/",
        ],
    )
    assert created.exit_code == 0, created.output
    assert "slug acme" in created.output and "secret" in created.output

    agent = runner.invoke(
        app,
        [
            "agent",
            "create",
            "--workspace",
            "acme",
            "--email",
            "boss@acme.example",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--password",
            "a long enough password",
        ],
    )
    assert agent.exit_code == 0, agent.output
    db = Database(f"sqlite:///{data_dir / 'frontdesk.db'}")
    with db.read() as session:
        assert authenticate(session, "boss@acme.example", "a long enough password").role == "admin"
    db.dispose()

    token = runner.invoke(app, ["token", "create", "--workspace", "acme", "--name", "crm"])
    assert token.exit_code == 0 and token.output.strip().startswith("fd_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["agent", "create", "--workspace", "nope", "--email", "a@b.c", "--name", "A"],
            "not found",
        ),
        (["workspace", "create", "X", "--slug", "Bad Slug!"], "slug"),
        (["workspace", "create", "X", "--origin", "not-an-origin"], "not an origin"),
        (["worker"], "FRONTDESK_REDIS_URL"),
    ],
)
def test_bad_input_gets_a_clear_error_and_exit_code_2(
    data_dir: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_duplicate_agent_is_refused(data_dir: Path) -> None:
    assert runner.invoke(app, ["workspace", "create", "Acme", "--slug", "acme"]).exit_code == 0
    args = ["agent", "create", "--workspace", "acme", "--email", "a@acme.example", "--name", "A"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "Password:" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists already" in again.output

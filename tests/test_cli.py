"""The admin commands, run as a user would (against a SQLite data folder)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.accounts.actions import authenticate
from frontdesk.cli import app
from frontdesk.config import Settings, get_settings
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


# ----- frontdesk kb import / export ------------------------------------------------------------


def _article(key: str, language: str, title: str, body: str, **meta: str) -> str:
    extra = "".join(f'{k}: "{v}"\n' for k, v in meta.items())
    return (
        f'---\nid: "{key}"\ntitle: "{title}"\nlanguage: "{language}"\n{extra}'
        f"tags: [account]\nupdated: 2026-08-02\n---\n{body}\n"
    )


@pytest.fixture
def kb_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "kb-in"
    folder.mkdir()
    (folder / "reset-password.md").write_text(
        _article(
            "reset-password",
            "en",
            "Reset your password",
            "Tap *Forgot password*.",
            collection="account",
        ),
        encoding="utf-8",
    )
    (folder / "reset-password.th.md").write_text(
        _article(
            "reset-password", "th", "รีเซ็ตรหัสผ่าน", "แตะ ลืมรหัสผ่าน", translation_of="reset-password"
        ),
        encoding="utf-8",
    )
    (folder / "track-order.md").write_text(
        _article("track-order", "en", "Track your order", "The link is in the email [1]."),
        encoding="utf-8",
    )
    (folder / "broken.md").write_text("---\nid: [unclosed\n---\nbody\n", encoding="utf-8")
    (folder / "copy.md").write_text(
        _article("track-order", "en", "Track your order again", "Duplicate."), encoding="utf-8"
    )
    (folder / "track-order.en.md").write_text(
        (folder / "track-order.md").read_text("utf-8"), encoding="utf-8"
    )
    (folder / "collections.yaml").write_text(
        "- slug: account\n  name: Account and security\n  description: Logins.\n"
        "  translations:\n    th:\n      name: บัญชี\n      description: ''\n",
        encoding="utf-8",
    )
    return folder


def _workspace(slug: str = "acme") -> None:
    assert runner.invoke(app, ["workspace", "create", "Acme", "--slug", slug]).exit_code == 0


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_kb_import_reports_what_it_did_and_skips_bad_files(data_dir: Path, kb_folder: Path) -> None:
    from frontdesk.knowledge.store import list_articles, list_collections

    _workspace()
    result = runner.invoke(app, ["kb", "import", str(kb_folder), "--workspace", "acme"])
    assert result.exit_code == 0, result.output
    out = _flat(result.stdout)
    assert "3 created, 0 updated, 0 unchanged (published), 3 skipped" in out
    assert "skipped broken.md: front matter is not valid YAML" in out
    assert "skipped copy.md: file name says id 'copy' but front matter says 'track-order'" in out
    assert "skipped track-order.md: duplicate id 'track-order' in 'en'" in out
    db = Database(f"sqlite:///{data_dir / 'frontdesk.db'}")
    with db.read() as session:
        rows = list_articles(session, 1)
        assert sorted((r.key, r.language, r.status) for r in rows) == [
            ("reset-password", "en", "published"),
            ("reset-password", "th", "published"),
            ("track-order", "en", "published"),
        ]
        (collection,) = list_collections(session, 1)
        assert collection.name == "Account and security"
    db.dispose()

    again = runner.invoke(app, ["kb", "import", str(kb_folder), "--workspace", "acme", "--draft"])
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 3 unchanged (draft)" in _flat(again.stdout)


def test_kb_export_round_trips(data_dir: Path, kb_folder: Path, tmp_path: Path) -> None:
    _workspace("acme")
    _workspace("copy")
    _workspace("again")
    assert (
        runner.invoke(app, ["kb", "import", str(kb_folder), "--workspace", "acme"]).exit_code == 0
    )
    first = tmp_path / "export-1"
    result = runner.invoke(app, ["kb", "export", str(first), "--workspace", "acme"])
    assert result.exit_code == 0, result.output
    assert "Exported 3 article versions" in result.stdout
    assert sorted(p.name for p in first.iterdir()) == [
        "collections.yaml",
        "reset-password.md",
        "reset-password.th.md",
        "track-order.md",
    ]
    imported = runner.invoke(app, ["kb", "import", str(first), "--workspace", "copy"])
    assert imported.exit_code == 0 and "3 created" in imported.stdout
    assert "skipped" not in imported.stdout
    second = tmp_path / "export-2"
    assert runner.invoke(app, ["kb", "export", str(second), "--workspace", "copy"]).exit_code == 0
    for path in first.iterdir():
        assert (second / path.name).read_text("utf-8") == path.read_text("utf-8"), path.name

    # JSON: export into a folder, import back, export again: the same document
    result = runner.invoke(app, ["kb", "export", str(tmp_path), "--workspace", "copy", "--json"])
    assert result.exit_code == 0, result.output
    exported = tmp_path / "copy.json"
    data = json.loads(exported.read_text("utf-8"))
    assert len(data["articles"]) == 3 and data["collections"][0]["slug"] == "account"
    imported = runner.invoke(app, ["kb", "import", str(exported), "--workspace", "again"])
    assert imported.exit_code == 0 and "3 created" in imported.stdout, imported.output
    back = tmp_path / "again.json"
    assert (
        runner.invoke(app, ["kb", "export", str(back), "--workspace", "again", "--json"]).exit_code
        == 0
    )
    assert json.loads(back.read_text("utf-8")) == data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kb", "import", "{kb}", "--workspace", "nope"], "Workspace 'nope' was not found"),
        (["kb", "import", "{tmp}/missing", "--workspace", "acme"], "missing does not exist"),
        (["kb", "import", "{tmp}/empty", "--workspace", "acme"], "nothing was imported"),
        (["kb", "import", "{tmp}/notes.txt", "--workspace", "acme"], "neither a folder"),
        (["kb", "import", "{tmp}/bad.json", "--workspace", "acme"], "is not a JSON export"),
        (["kb", "export", "{tmp}/out", "--workspace", "nope"], "Workspace 'nope' was not found"),
        (["kb", "export", "{tmp}/notes.txt", "--workspace", "acme"], "is a file"),
    ],
)
def test_kb_bad_input_gets_a_clear_error(
    data_dir: Path, kb_folder: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    _workspace()
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "bad.json").write_text("{not json")
    argv = [a.format(kb=kb_folder, tmp=tmp_path) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert isinstance(result.exception, SystemExit)


def test_kb_import_of_a_bad_collections_file_still_imports_the_articles(
    data_dir: Path, kb_folder: Path
) -> None:
    _workspace()
    (kb_folder / "collections.yaml").write_text("- slug: [oops\n", encoding="utf-8")
    result = runner.invoke(app, ["kb", "import", str(kb_folder), "--workspace", "acme"])
    assert result.exit_code == 0, result.output
    out = _flat(result.stdout)
    assert "3 created" in out and "skipped collections.yaml:" in out
    (kb_folder / "collections.yaml").write_text("- name: no slug\n", encoding="utf-8")
    result = runner.invoke(app, ["kb", "import", str(kb_folder), "--workspace", "acme"])
    assert result.exit_code == 0, result.output
    assert "skipped collections.yaml: Collection 1 needs a slug" in _flat(result.stdout)


# ----- frontdesk demo: the knowledge base -------------------------------------------------------


def test_demo_seeds_the_knowledge_base_once_and_warms_the_index(tmp_path: Path) -> None:
    from sqlalchemy import select

    from frontdesk.demo import CONVERSATIONS, DEMO_KB, seed_demo, warm_knowledge_index
    from frontdesk.knowledge.store import list_articles
    from frontdesk.runtime import Runtime
    from frontdesk.store.models import Conversation
    from tests.conftest import make_settings

    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'demo.db'}", knowledge_models="hashing"
    )
    runtime = Runtime.build(settings)
    try:
        with runtime.db.write() as session:
            info = seed_demo(session, base_url="http://127.0.0.1:8000", site_origin="http://x:1")
        files = list(DEMO_KB.glob("*.md"))
        assert info.kb is not None and info.kb.imported + len(info.kb.skipped) == len(files)
        assert info.kb.imported > 0
        with runtime.db.read() as session:
            rows = list_articles(session, info.workspace_id)
            assert rows and all(r.status == "published" for r in rows)
            # the seeded chats waiting for a person are in triage, not "with the bot"
            waiting = [c for c in CONVERSATIONS if not c["team"] and not c["reply"]]
            triaged = session.scalars(
                select(Conversation).where(
                    Conversation.workspace_id == info.workspace_id, Conversation.in_triage
                )
            ).all()
            assert len(triaged) == len(waiting) > 0
        thread = warm_knowledge_index(runtime, info.workspace_id)
        thread.join(timeout=60)
        assert not thread.is_alive()
        with runtime.db.read() as session:
            index = runtime.knowledge.index(session, info.workspace_id)
        assert set(index.article_ids) == {r.key for r in rows}
        with runtime.db.write() as session:  # a second start leaves the articles alone
            again = seed_demo(session, base_url="http://127.0.0.1:8000", site_origin="http://x:1")
        assert again.kb is None
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("Ich brauche die Rechnung für mein Fahrrad", "billing"),
        ("Πού είναι το τιμολόγιό μου;", "billing"),
        ("我的刹车坏了，可以维修吗？", "workshop"),
        ("The app shows error E05", "tech"),
        ("¿Tenéis ofertas para empresas?", "sales"),
    ],
)
def test_the_demo_routes_a_handoff_to_the_team_it_is_about(
    tmp_path: Path, text: str, team: str
) -> None:
    from frontdesk.demo import ROUTING_RULES, seed_demo
    from frontdesk.inbound import InboundMessage, receive
    from frontdesk.routing.store import list_rules
    from frontdesk.runtime import Runtime
    from frontdesk.store.models import Conversation, Team, Workspace
    from tests.conftest import make_settings
    from tests.factories import make_customer

    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'demo.db'}", knowledge_models="hashing"
    )
    runtime = Runtime.build(settings)
    try:
        with runtime.db.write() as session:
            info = seed_demo(session, base_url="http://127.0.0.1:8000", site_origin="http://x:1")
            workspace = session.get_one(Workspace, info.workspace_id)
            customer_id = make_customer(session, workspace).id
        result = receive(
            runtime.db,
            InboundMessage(
                workspace_id=info.workspace_id,
                channel="chat",
                customer_id=customer_id,
                text=text,
                meta={"intent": "human"},  # the "Talk to a person" button
            ),
        )
        with runtime.db.read() as session:
            conversation = session.get_one(Conversation, result.conversation_id)
            assert conversation.team_id is not None, "went to triage"
            assert session.get_one(Team, conversation.team_id).slug == team
        with runtime.db.write() as session:  # a second start adds no second set of rules
            seed_demo(session, base_url="http://127.0.0.1:8000", site_origin="http://x:1")
        with runtime.db.read() as session:
            assert len(list_rules(session, info.workspace_id)) == len(ROUTING_RULES)
    finally:
        runtime.close()


def test_emails_get_the_servers_own_base_url_only_on_loopback(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from frontdesk.cli import _default_base_url

    local = SimpleNamespace(settings=Settings(data_dir=tmp_path, base_url=""))
    assert _default_base_url(local, "127.0.0.1", 8100) == "http://127.0.0.1:8100"
    assert local.settings.base_url == "http://127.0.0.1:8100"  # article and survey links
    # On a public address only the operator knows the URL (a proxy in front): pages keep
    # taking it from each request, and nothing is guessed for emails.
    public = SimpleNamespace(settings=Settings(data_dir=tmp_path, base_url=""))
    _default_base_url(public, "0.0.0.0", 8000)  # noqa: S104 - the address under test
    assert public.settings.base_url == ""
    configured = SimpleNamespace(
        settings=Settings(data_dir=tmp_path, base_url="https://support.example.com/")
    )
    assert _default_base_url(configured, "127.0.0.1", 8000) == "https://support.example.com"


def test_a_bad_setting_is_one_clear_line_per_variable_not_a_traceback(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_RATE_LOGIN_PER_MINUTE", "0")
    monkeypatch.setenv("FRONTDESK_JOB_WORKERS", "two")
    result = runner.invoke(app, ["workspace", "create", "Acme", "--slug", "acme"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    output = " ".join(result.output.split())
    assert "FRONTDESK_RATE_LOGIN_PER_MINUTE='0': Input should be greater than or equal to 1" in (
        output
    )
    assert "FRONTDESK_JOB_WORKERS='two': Input should be a valid integer" in output
    assert not list(data_dir.iterdir())  # nothing was created

    monkeypatch.delenv("FRONTDESK_RATE_LOGIN_PER_MINUTE")
    monkeypatch.delenv("FRONTDESK_JOB_WORKERS")
    assert runner.invoke(app, ["workspace", "create", "Acme", "--slug", "acme"]).exit_code == 0

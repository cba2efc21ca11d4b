"""frontdesk.knowledge.store: the only code that changes the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.knowledge.store import (
    access_article,
    access_collection,
    article_versions,
    do_add_example,
    do_delete_article,
    do_delete_example,
    do_save_article,
    do_save_collection,
    do_set_status,
    export_json,
    export_markdown,
    import_folder,
    list_articles,
    list_collections,
    list_examples,
    published_articles,
    record_view,
    viewed_since,
)
from frontdesk.runtime import Runtime
from frontdesk.store.models import KbArticle, KbExample, Workspace, utcnow
from tests.factories import make_customer, make_workspace


def revision(session: Session, workspace_id: int) -> int:
    value = session.scalar(select(Workspace.kb_revision).where(Workspace.id == workspace_id))
    assert value is not None
    return value


def save(session: Session, workspace_id: int, **fields: object) -> KbArticle:
    values: dict[str, object] = {
        "key": "reset-password",
        "language": "en",
        "title": "Reset your password",
        "body": "# Reset your password\n\nOpen **Settings** and choose *Reset*.",
    }
    values.update(fields)
    return do_save_article(session, workspace_id, **values)  # type: ignore[arg-type]


@pytest.fixture
def workspace_id(runtime: Runtime) -> int:
    with runtime.db.write() as session:
        return make_workspace(session, "Acme").id


def test_create_translate_update_publish_delete(runtime: Runtime, workspace_id: int) -> None:
    with runtime.db.write() as session:
        start = revision(session, workspace_id)
        original = save(session, workspace_id, collection="account", tags=["password", " "])
        assert original.is_original and original.status == "draft"
        assert original.tags == ["password"]
        assert original.collection is not None and original.collection.slug == "account"
        assert revision(session, workspace_id) > start

        translation = save(
            session, workspace_id, language="th", title="รีเซ็ตรหัสผ่าน", body="เปิด การตั้งค่า"
        )
        assert not translation.is_original
        # a translation takes the original's collection and tags
        assert translation.collection_id == original.collection_id
        assert translation.tags == ["password"]

    with runtime.db.write() as session:
        before = revision(session, workspace_id)
        updated = save(session, workspace_id, title="Reset  your\tpassword now", status="draft")
        assert updated.title == "Reset your password now"  # whitespace collapsed
        assert revision(session, workspace_id) == before + 1
        assert [v.language for v in article_versions(session, workspace_id, "reset-password")] == [
            "en",
            "th",
        ]
        assert published_articles(session, workspace_id) == []

        do_set_status(session, access_article(session, workspace_id, "reset-password"), "published")
        assert revision(session, workspace_id) == before + 2
        do_set_status(session, access_article(session, workspace_id, "reset-password"), "published")
        assert revision(session, workspace_id) == before + 2  # no change, no bump
        assert [a.language for a in published_articles(session, workspace_id)] == ["en"]
        with pytest.raises(InvalidInput, match="Status must be one of draft, published"):
            do_set_status(session, access_article(session, workspace_id, "reset-password"), "live")

    with runtime.db.write() as session:
        assert access_article(session, workspace_id, "reset-password", "th").title == "รีเซ็ตรหัสผ่าน"
        with pytest.raises(NotFound, match="'reset-password' in 'de'"):
            access_article(session, workspace_id, "reset-password", "de")
        before = revision(session, workspace_id)
        assert do_delete_article(session, workspace_id, "reset-password", "th") == 1
        assert revision(session, workspace_id) == before + 1
        assert [v.language for v in article_versions(session, workspace_id, "reset-password")] == [
            "en"
        ]
        with pytest.raises(NotFound):
            do_delete_article(session, workspace_id, "reset-password", "th")

    with runtime.db.write() as session:
        save(session, workspace_id, language="de", title="Passwort", body="Text")
        do_add_example(
            session, workspace_id, "reset-password", "I forgot my password", language="en"
        )
        # deleting the original deletes the whole article with its examples
        assert do_delete_article(session, workspace_id, "reset-password", "en") == 2
        assert article_versions(session, workspace_id, "reset-password") == []
        assert list_examples(session, workspace_id) == []
        with pytest.raises(NotFound, match="'reset-password' was not found"):
            do_delete_article(session, workspace_id, "reset-password")


def test_collections(runtime: Runtime, workspace_id: int) -> None:
    with runtime.db.write() as session:
        before = revision(session, workspace_id)
        billing = do_save_collection(
            session,
            workspace_id,
            "billing",
            name="  Billing ",
            description="Invoices",
            translations={"th": {"name": "การเรียกเก็บเงิน"}},
        )
        assert billing.name == "Billing"
        assert billing.translations == {"th": {"name": "การเรียกเก็บเงิน", "description": ""}}
        assert revision(session, workspace_id) == before + 1
        do_save_collection(session, workspace_id, "getting-started")
        assert [c.slug for c in list_collections(session, workspace_id)] == [
            "billing",
            "getting-started",
        ]
        assert access_collection(session, workspace_id, "getting-started").name == "Getting started"
        with pytest.raises(InvalidInput, match="needs a name"):
            do_save_collection(session, workspace_id, "billing", name="   ")
        with pytest.raises(InvalidInput, match="'xx' is not supported"):
            do_save_collection(session, workspace_id, "billing", translations={"xx": {"name": "?"}})
        with pytest.raises(NotFound):
            access_collection(session, workspace_id, "nope")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": "   \n  "}, "has no text: write its body in Markdown"),
        ({"key": "Bad Id!"}, "must be lowercase letters, digits, '-' or '_'"),
        ({"key": "../etc"}, "must be lowercase letters"),
        ({"key": "x" * 129}, "at most 128 characters"),
        ({"key": "search"}, "'search' is reserved"),
        ({"language": "fr"}, "Language 'fr' is not supported; use one of en, th"),
        ({"title": "t" * 301}, "The title is longer than 300 characters"),
        ({"title": "   "}, "An article needs a title"),
        ({"status": "live"}, "Status must be one of draft, published, not 'live'"),
        ({"body": "x" * 200_001}, "split it"),
    ],
)
def test_bad_input_is_refused_clearly(
    runtime: Runtime, workspace_id: int, fields: dict[str, object], message: str
) -> None:
    with runtime.db.write() as session:
        before = revision(session, workspace_id)
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
            save(session, workspace_id, **fields)
        assert revision(session, workspace_id) == before
        assert list_articles(session, workspace_id) == []


def test_examples(runtime: Runtime, workspace_id: int) -> None:
    with runtime.db.write() as session:
        save(session, workspace_id)
        before = revision(session, workspace_id)
        first = do_add_example(
            session, workspace_id, "reset-password", "  I forgot   my password ", language="en"
        )
        assert first is not None and first.text == "I forgot my password"
        assert first.source == "admin"
        assert revision(session, workspace_id) == before + 1
        assert (
            do_add_example(
                session, workspace_id, "reset-password", "I forgot my password", language="en"
            )
            is None
        )
        with pytest.raises(InvalidInput, match="needs some text"):
            do_add_example(session, workspace_id, "reset-password", "  ", language="en")
        with pytest.raises(InvalidInput, match="'admin' or 'learned'"):
            do_add_example(
                session, workspace_id, "reset-password", "q?", language="en", source="robot"
            )
        with pytest.raises(InvalidInput, match="not supported"):
            do_add_example(session, workspace_id, "reset-password", "q?", language="xx")
        with pytest.raises(NotFound):
            do_add_example(session, workspace_id, "missing", "q?", language="en")
        learned = do_add_example(
            session, workspace_id, "reset-password", "ลืมรหัสผ่าน", language="th", source="learned"
        )
        assert learned is not None
        assert [e.text for e in list_examples(session, workspace_id, "reset-password")] == [
            "I forgot my password",
            "ลืมรหัสผ่าน",
        ]
        do_delete_example(session, workspace_id, first.id)
        with pytest.raises(NotFound):
            do_delete_example(session, workspace_id, first.id)
        assert session.scalars(select(KbExample.text)).all() == ["ลืมรหัสผ่าน"]


def test_tenants_are_apart(runtime: Runtime, workspace_id: int) -> None:
    with runtime.db.write() as session:
        other = make_workspace(session, "Other").id
        save(session, workspace_id)
        example = do_add_example(session, workspace_id, "reset-password", "q?", language="en")
        assert example is not None
        other_revision = revision(session, other)
        with pytest.raises(NotFound):
            access_article(session, other, "reset-password")
        with pytest.raises(NotFound):
            do_delete_article(session, other, "reset-password")
        with pytest.raises(NotFound):
            do_delete_example(session, other, example.id)
        assert revision(session, other) == other_revision
        assert len(article_versions(session, workspace_id, "reset-password")) == 1


def test_views(runtime: Runtime, workspace_id: int) -> None:
    with runtime.db.write() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        customer = make_customer(session, workspace)
        since = utcnow()
        assert not viewed_since(session, workspace_id, customer.id, since)
        record_view(session, workspace_id, customer.id, "reset-password", "en")
        record_view(session, workspace_id, None, "reset-password", "en")
        session.flush()
        assert viewed_since(session, workspace_id, customer.id, since)


def _sample(session: Session, workspace_id: int) -> None:
    do_save_collection(
        session,
        workspace_id,
        "account",
        name="Account",
        description="Your login",
        translations={"de": {"name": "Konto", "description": "Ihr Login"}},
    )
    save(session, workspace_id, collection="account", tags=["password"], status="published")
    save(
        session,
        workspace_id,
        language="th",
        title="รีเซ็ตรหัสผ่าน",
        body="# รีเซ็ตรหัสผ่าน\n\nเปิด **การตั้งค่า**",
        status="published",
    )
    save(
        session,
        workspace_id,
        key="shipping",
        title='Shipping: "fast" & cheap',
        body="We ship to 12 countries.\n\n- one\n- two",
        status="published",
    )
    # admin-written questions, one in a language the article has no version in; and one
    # learned from a conversation (a customer's words: not exported)
    for language, text in (
        ("en", "I can't log in"),
        ("th", "ลืมรหัสผ่าน"),
        ("de", "Passwort vergessen"),
    ):
        do_add_example(session, workspace_id, "reset-password", text, language=language)
    do_add_example(
        session, workspace_id, "shipping", "do u ship to oslo", language="en", source="learned"
    )


def _admin_examples(session: Session, workspace_id: int) -> set[tuple[str, str, str]]:
    return {
        (e.article_key, e.language, e.text)
        for e in list_examples(session, workspace_id)
        if e.source == "admin"
    }


def _snapshot(session: Session, workspace_id: int) -> list[tuple[object, ...]]:
    return [
        (
            a.key,
            a.language,
            a.is_original,
            a.title,
            a.body,
            a.collection.slug if a.collection else None,
            tuple(a.tags),
            a.updated_at.date(),
        )
        for a in list_articles(session, workspace_id)
    ]


def test_markdown_export_import_round_trip(
    runtime: Runtime, workspace_id: int, tmp_path: Path
) -> None:
    with runtime.db.write() as session:
        _sample(session, workspace_id)
        target = make_workspace(session, "Copy").id
    folder = tmp_path / "kb"
    with runtime.db.read() as session:
        assert export_markdown(session, workspace_id, folder) == 3
        expected = _snapshot(session, workspace_id)
    assert sorted(p.name for p in folder.iterdir()) == [
        "collections.yaml",
        "reset-password.md",
        "reset-password.th.md",
        "shipping.md",
    ]
    with runtime.db.write() as session:
        report = import_folder(session, target, folder)
        assert (report.created, report.updated, report.skipped) == (3, 0, [])
    assert "Passwort vergessen" in (folder / "reset-password.md").read_text(encoding="utf-8")
    assert "oslo" not in (folder / "shipping.md").read_text(encoding="utf-8")
    with runtime.db.read() as session:
        assert _snapshot(session, target) == expected
        assert _admin_examples(session, target) == _admin_examples(session, workspace_id)
        assert len(_admin_examples(session, target)) == 3
        assert [e.source for e in list_examples(session, target)] == ["admin"] * 3
        copy = access_collection(session, target, "account")
        assert (copy.name, copy.description) == ("Account", "Your login")
        assert copy.translations == {"de": {"name": "Konto", "description": "Ihr Login"}}
    with runtime.db.write() as session:  # again: nothing changes
        report = import_folder(session, target, folder)
        assert (report.created, report.updated, report.unchanged) == (0, 0, 3)


def test_json_export_import_round_trip(runtime: Runtime, workspace_id: int, tmp_path: Path) -> None:
    with runtime.db.write() as session:
        _sample(session, workspace_id)
        target = make_workspace(session, "Copy").id
    with runtime.db.read() as session:
        exported = export_json(session, workspace_id)
        expected = _snapshot(session, workspace_id)
    path = tmp_path / "kb.json"
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    with runtime.db.write() as session:
        report = import_folder(session, target, path)
        assert (report.created, report.skipped) == (3, [])
    with runtime.db.read() as session:
        assert _snapshot(session, target) == expected
        assert _admin_examples(session, target) == _admin_examples(session, workspace_id)
        assert export_json(session, target) == exported


def test_import_skips_bad_files_and_keeps_the_rest(
    runtime: Runtime, workspace_id: int, tmp_path: Path
) -> None:
    path = tmp_path / "kb.json"
    path.write_text(
        json.dumps(
            {
                "articles": [
                    {"id": "good", "language": "en", "title": "Good", "body": "Fine text"},
                    {"id": "Bad Id", "language": "en", "title": "Bad", "body": "x"},
                    {"id": "empty", "language": "en", "title": "Empty", "body": "  "},
                    {"id": "lang", "language": "klingon", "title": "L", "body": "x"},
                    "not an object",
                ]
            }
        ),
        encoding="utf-8",
    )
    with runtime.db.write() as session:
        report = import_folder(session, workspace_id, path)
    assert report.created == 1
    assert len(report.skipped) == 4
    assert any("empty" in line and "has no text" in line for line in report.skipped)
    with runtime.db.read() as session:
        assert [a.key for a in list_articles(session, workspace_id)] == ["good"]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with runtime.db.write() as session, pytest.raises(InvalidInput, match="is not a JSON export"):
        import_folder(session, workspace_id, broken)
    with runtime.db.write() as session, pytest.raises(InvalidInput, match="neither a folder"):
        import_folder(session, workspace_id, tmp_path / "missing")

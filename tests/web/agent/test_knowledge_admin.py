"""Knowledge-base pages of the agent app: admins write, agents read, CSRF and tenancy hold."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from frontdesk.knowledge.embedders import HashingEmbedder
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import (
    access_article,
    article_versions,
    do_add_example,
    do_save_article,
    list_examples,
)
from frontdesk.runtime import Runtime
from frontdesk.store.models import KbArticle, KbCollection, Workspace
from tests.web.agent.helpers import login_as, setup_workspace

ARTICLE = {
    "mode": "new",
    "key": "reset-password",
    "language": "en",
    "title": "Reset your password",
    "collection": "",
    "tags": "password, account",
    "body": "# Reset your password\n\nOpen **Settings**.",
    "status": "draft",
    "action": "save",
}


@pytest.fixture(autouse=True)
def fake_models(runtime: Runtime) -> None:
    runtime.knowledge = KnowledgeRegistry([HashingEmbedder("e5"), HashingEmbedder("use")])


def count(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(KbArticle)) or 0


def test_admin_writes_an_article_end_to_end(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    assert client.get("/admin/kb").status_code == 200
    assert 'href="/admin/kb"' in client.get("/inbox").text  # linked from the navigation
    assert 'href="/admin/kb"' in client.get("/admin/agents").text

    created = client.post(
        "/admin/kb/collections",
        data={"csrf_token": csrf, "slug": "account", "name": "Account", "name_th": "บัญชี"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    editor = client.get("/admin/kb/new")
    assert editor.status_code == 200 and 'name="body"' in editor.text
    saved = client.post(
        "/admin/kb/save",
        data={"csrf_token": csrf, **ARTICLE, "collection": "account"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/kb/articles/reset-password?saved=1"
    with runtime.db.read() as session:
        article = access_article(session, s.workspace.id, "reset-password")
        assert (article.status, article.tags) == ("draft", ["password", "account"])
        assert article.collection is not None and article.collection.slug == "account"
        collection = session.scalar(select(KbCollection))
        assert collection is not None
        assert collection.translations == {"th": {"name": "บัญชี", "description": ""}}

    listing = client.get("/admin/kb").text
    assert "Reset your password" in listing and "kb-lang draft" in listing
    assert "Reset your password" in client.get("/admin/kb?collection=account&language=en").text
    assert "Reset your password" not in client.get("/admin/kb?status=published").text
    assert client.get("/admin/kb?language=xx").status_code == 422
    assert client.get("/admin/kb?collection=nope").status_code == 404

    page = client.get("/admin/kb/articles/reset-password")
    assert page.status_code == 200 and "Publish" in page.text
    published = client.post(
        "/admin/kb/articles/reset-password/status",
        data={"csrf_token": csrf, "language": "en", "status": "published"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    slug = s.workspace.slug
    assert client.get(f"/help/{slug}/articles/reset-password").status_code == 200

    # a translation starts from the original's text
    translate = client.get("/admin/kb/articles/reset-password/edit?language=th")
    assert translate.status_code == 200
    assert "Translate reset-password into th" in translate.text
    assert "Open **Settings**." in translate.text
    client.post(
        "/admin/kb/save",
        data={
            "csrf_token": csrf,
            **ARTICLE,
            "mode": "translate",
            "language": "th",
            "title": "รีเซ็ตรหัสผ่าน",
            "body": "เปิด **การตั้งค่า**",
            "status": "published",
            "collection": "account",
        },
    )
    with runtime.db.read() as session:
        versions = article_versions(session, s.workspace.id, "reset-password")
        assert [(v.language, v.is_original, v.status) for v in versions] == [
            ("en", True, "published"),
            ("th", False, "published"),
        ]
    assert "รีเซ็ตรหัสผ่าน" in client.get(f"/help/{slug}/articles/reset-password?lang=th").text

    # edit the original
    edit = client.get("/admin/kb/articles/reset-password/edit?language=en")
    assert "Edit reset-password (en)" in edit.text
    client.post(
        "/admin/kb/save",
        data={
            "csrf_token": csrf,
            **ARTICLE,
            "mode": "edit",
            "title": "Reset it",
            "collection": "account",
            "status": "published",
        },
    )
    unpublished = client.post(
        "/admin/kb/articles/reset-password/status",
        data={"csrf_token": csrf, "language": "en", "status": "draft"},
        follow_redirects=False,
    )
    assert unpublished.status_code == 303
    with runtime.db.read() as session:
        article = access_article(session, s.workspace.id, "reset-password")
        assert (article.title, article.status) == ("Reset it", "draft")

    # example questions
    added = client.post(
        "/admin/kb/articles/reset-password/examples",
        data={"csrf_token": csrf, "text": "I forgot my password", "language": "en"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    with runtime.db.write() as session:
        do_add_example(
            session, s.workspace.id, "reset-password", "ลืมรหัส", language="th", source="learned"
        )
    detail = client.get("/admin/kb/articles/reset-password").text
    assert "I forgot my password" in detail and "learned" in detail and "admin" in detail
    with runtime.db.read() as session:
        first = list_examples(session, s.workspace.id, "reset-password")[0]
    deleted = client.post(
        f"/admin/kb/examples/{first.id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    with runtime.db.read() as session:
        assert [e.text for e in list_examples(session, s.workspace.id)] == ["ลืมรหัส"]

    # delete a translation, then the whole article
    client.post(
        "/admin/kb/articles/reset-password/delete", data={"csrf_token": csrf, "language": "th"}
    )
    with runtime.db.read() as session:
        assert len(article_versions(session, s.workspace.id, "reset-password")) == 1
    gone = client.post(
        "/admin/kb/articles/reset-password/delete",
        data={"csrf_token": csrf, "language": "en"},
        follow_redirects=False,
    )
    assert gone.headers["location"] == "/admin/kb"
    assert count(runtime) == 0
    assert client.get("/admin/kb/articles/reset-password").status_code == 404


def test_bad_input_keeps_what_was_typed(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    empty = client.post(
        "/admin/kb/save",
        data={"csrf_token": csrf, **ARTICLE, "body": "   ", "title": "Keep this title"},
    )
    assert empty.status_code == 422
    assert "has no text" in empty.text and 'value="Keep this title"' in empty.text
    long_title = client.post(
        "/admin/kb/save", data={"csrf_token": csrf, **ARTICLE, "title": "t" * 301}
    )
    assert long_title.status_code == 422 and "longer than 300" in long_title.text
    bad_key = client.post("/admin/kb/save", data={"csrf_token": csrf, **ARTICLE, "key": "Bad Key!"})
    assert bad_key.status_code == 422 and "lowercase letters" in bad_key.text
    bad_language = client.post(
        "/admin/kb/save", data={"csrf_token": csrf, **ARTICLE, "language": "klingon"}
    )
    assert bad_language.status_code == 422 and "not supported" in bad_language.text
    assert count(runtime) == 0

    # the id is made from the title when left empty; a second "new" with that id is refused
    made = client.post(
        "/admin/kb/save",
        data={"csrf_token": csrf, **ARTICLE, "key": "", "title": "Shipping & returns!"},
        follow_redirects=False,
    )
    assert made.headers["location"] == "/admin/kb/articles/shipping-returns?saved=1"
    again = client.post(
        "/admin/kb/save",
        data={"csrf_token": csrf, **ARTICLE, "key": "shipping-returns", "body": "Other"},
    )
    assert again.status_code == 409 and "exists already" in again.text
    with runtime.db.read() as session:
        assert access_article(session, s.workspace.id, "shipping-returns").body.startswith("#")
    thai_only = client.post(
        "/admin/kb/save", data={"csrf_token": csrf, **ARTICLE, "key": "", "title": "ค่าส่ง"}
    )
    assert thai_only.status_code == 422 and "Give the article an id" in thai_only.text


def test_preview_is_rendered_and_sanitised(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    hostile = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)> <script>x</script>"
    fragment = client.post(
        "/admin/kb/preview",
        data={"csrf_token": csrf, "body": hostile},
        headers={"X-Requested-With": "fetch"},
    )
    assert fragment.status_code == 200
    assert "<strong>bold</strong>" in fragment.text
    assert "javascript:" not in fragment.text.replace("[x](javascript:alert(1))", "")
    assert "<img" not in fragment.text and "<script" not in fragment.text
    page = client.post(
        "/admin/kb/save", data={"csrf_token": csrf, **ARTICLE, "body": hostile, "action": "preview"}
    )
    assert page.status_code == 200
    assert "<strong>bold</strong>" in page.text and "<img src=x" not in page.text
    assert count(runtime) == 0  # a preview saves nothing
    assert client.post("/admin/kb/preview", data={"body": "x"}).status_code == 403  # no CSRF
    script = client.get("/admin/kb/_assets/editor.js")
    assert script.status_code == 200 and "kb-preview" in script.text


def test_agents_read_but_do_not_write(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    with runtime.db.write() as session:
        do_save_article(
            session,
            s.workspace.id,
            key="reset-password",
            language="en",
            title="Reset your password",
            body="Text",
        )
    csrf = login_as(client, runtime, s.agent)
    listing = client.get("/admin/kb")
    assert listing.status_code == 200 and "Reset your password" in listing.text
    assert "New article" not in listing.text
    page = client.get("/admin/kb/articles/reset-password")
    assert page.status_code == 200 and "Publish" not in page.text
    assert client.get("/admin/kb/collections").status_code == 200
    assert client.get("/admin/kb/new").status_code == 403
    assert client.get("/admin/kb/articles/reset-password/edit").status_code == 403
    for path, data in (
        ("/admin/kb/save", {**ARTICLE, "key": "new-one"}),
        ("/admin/kb/articles/reset-password/status", {"language": "en", "status": "published"}),
        ("/admin/kb/articles/reset-password/delete", {"language": "en"}),
        ("/admin/kb/articles/reset-password/examples", {"text": "q", "language": "en"}),
        ("/admin/kb/collections", {"slug": "x", "name": "X"}),
        ("/admin/kb/preview", {"body": "x"}),
    ):
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    with runtime.db.read() as session:
        article = access_article(session, s.workspace.id, "reset-password")
        assert article.status == "draft"
        assert session.scalar(select(func.count()).select_from(KbCollection)) == 0
    assert count(runtime) == 1


def test_csrf_and_login_are_required(client: TestClient, runtime: Runtime) -> None:
    s = setup_workspace(runtime)
    assert client.get("/admin/kb", follow_redirects=False).status_code == 303  # to the login
    login_as(client, runtime, s.admin)
    for path, data in (
        ("/admin/kb/save", ARTICLE),
        ("/admin/kb/collections", {"slug": "x", "name": "X"}),
    ):
        assert client.post(path, data=data).status_code == 403
        assert client.post(path, data={**data, "csrf_token": "wrong"}).status_code == 403
    assert count(runtime) == 0


def test_tenancy(client: TestClient, runtime: Runtime) -> None:
    mine = setup_workspace(runtime)
    theirs = setup_workspace(runtime, "Other")
    with runtime.db.write() as session:
        do_save_article(
            session,
            theirs.workspace.id,
            key="their-article",
            language="en",
            title="Theirs",
            body="Private",
        )
        example = do_add_example(
            session, theirs.workspace.id, "their-article", "a question", language="en"
        )
        assert example is not None
        workspace = session.get(Workspace, theirs.workspace.id)
        assert workspace is not None
    csrf = login_as(client, runtime, mine.admin)
    assert "Theirs" not in client.get("/admin/kb").text
    assert client.get("/admin/kb/articles/their-article").status_code == 404
    assert client.get("/admin/kb/articles/their-article/edit").status_code == 404
    for path, data in (
        ("/admin/kb/articles/their-article/status", {"language": "en", "status": "published"}),
        ("/admin/kb/articles/their-article/delete", {"language": "en"}),
        ("/admin/kb/articles/their-article/examples", {"text": "q", "language": "en"}),
        (f"/admin/kb/examples/{example.id}/delete", {}),
        ("/admin/kb/save", {**ARTICLE, "mode": "edit", "key": "their-article"}),
    ):
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 404, path
    with runtime.db.read() as session:
        article = access_article(session, theirs.workspace.id, "their-article")
        assert (article.title, article.status) == ("Theirs", "draft")
        assert len(list_examples(session, theirs.workspace.id)) == 1
        assert article_versions(session, mine.workspace.id, "their-article") == []


def test_a_translation_older_than_its_original_is_flagged_outdated(
    client: TestClient, runtime: Runtime
) -> None:
    s = setup_workspace(runtime)
    csrf = login_as(client, runtime, s.admin)
    for language, title, body in (
        ("en", "Charge the battery", "# Charge the battery\n\nA full charge takes 4.5 hours."),
        ("th", "ชาร์จแบตเตอรี่", "# ชาร์จแบตเตอรี่\n\nชาร์จเต็มใช้เวลา 4.5 ชั่วโมง"),
    ):
        saved = client.post(
            "/admin/kb/save",
            data={
                "csrf_token": csrf,
                **ARTICLE,
                "mode": "new" if language == "en" else "translate",
                "key": "charge",
                "language": language,
                "title": title,
                "body": body,
                "status": "published",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
    assert "outdated" not in client.get("/admin/kb/articles/charge").text
    assert "⚠" not in client.get("/admin/kb").text

    # a new status or the same text again is not a change of content
    client.post(
        "/admin/kb/articles/charge/status",
        data={"csrf_token": csrf, "language": "en", "status": "draft"},
    )
    assert "outdated" not in client.get("/admin/kb/articles/charge").text

    client.post(
        "/admin/kb/save",
        data={
            "csrf_token": csrf,
            **ARTICLE,
            "mode": "edit",
            "key": "charge",
            "language": "en",
            "title": "Charge the battery",
            "body": "# Charge the battery\n\nA full charge takes 3 hours 50 minutes.",
            "status": "published",
        },
    )
    page = client.get("/admin/kb/articles/charge").text
    assert page.count(">outdated</span>") == 1  # the Thai version, not the original
    assert "outdated: the original changed since" in client.get("/admin/kb").text

    # the translator updates the Thai text: no longer outdated
    client.post(
        "/admin/kb/save",
        data={
            "csrf_token": csrf,
            **ARTICLE,
            "mode": "edit",
            "key": "charge",
            "language": "th",
            "title": "ชาร์จแบตเตอรี่",
            "body": "# ชาร์จแบตเตอรี่\n\nชาร์จเต็มใช้เวลา 3 ชั่วโมง 50 นาที",
            "status": "published",
        },
    )
    assert "outdated" not in client.get("/admin/kb/articles/charge").text

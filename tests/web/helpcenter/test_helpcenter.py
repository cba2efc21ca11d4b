"""The public help center: pages, languages, sanitised articles, search and recorded views."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.customers.actions import create_visitor
from frontdesk.customers.identity import new_visitor_token
from frontdesk.knowledge.embedders import HashingEmbedder
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.knowledge.store import do_add_example, do_save_article, do_save_collection
from frontdesk.runtime import Runtime
from frontdesk.store.models import KbArticleView, Workspace
from frontdesk.web.helpcenter.markdown import render_markdown
from frontdesk.web.helpcenter.texts import TEXTS, accept_languages, pick_language
from tests.factories import make_workspace

RESET_BODY = """# Reset your password

## Forgot your password

Open **Settings**, choose *Reset password* and follow the link we email you.

## Still locked out

Write to [support](mailto:help@acme.test) or see [the status page](https://status.acme.test).
"""


@pytest.fixture(autouse=True)
def fake_models(runtime: Runtime) -> None:
    runtime.knowledge = KnowledgeRegistry([HashingEmbedder("e5"), HashingEmbedder("use")])


@pytest.fixture
def slug(runtime: Runtime) -> str:
    with runtime.db.write() as session:
        workspace = make_workspace(session, "Acme")
        do_save_collection(
            session,
            workspace.id,
            "account",
            name="Account",
            description="Login and security",
            translations={"th": {"name": "บัญชีผู้ใช้", "description": "การเข้าสู่ระบบ"}},
        )
        do_save_article(
            session,
            workspace.id,
            key="reset-password",
            language="en",
            title="Reset your password",
            body=RESET_BODY,
            collection="account",
            status="published",
        )
        do_save_article(
            session,
            workspace.id,
            key="reset-password",
            language="de",
            title="Passwort zurücksetzen",
            body="# Passwort zurücksetzen\n\nÖffnen Sie **Einstellungen**.",
            status="published",
        )
        do_save_article(
            session,
            workspace.id,
            key="shipping",
            language="en",
            title="Shipping costs",
            body="Delivery costs 10 euros and takes a week.",
            status="published",
        )
        do_save_article(
            session,
            workspace.id,
            key="secret-plans",
            language="en",
            title="Secret plans",
            body="Not ready.",
            status="draft",
        )
        return workspace.slug


def test_home_lists_published_collections_in_the_visitors_language(
    client: TestClient, slug: str
) -> None:
    page = client.get(f"/help/{slug}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert 'lang="en"' in html
    assert "Acme Help Center" in html
    assert "Account" in html and "Reset your password" in html
    assert "Shipping costs" in html  # no collection: under "Other articles"
    assert "Secret plans" not in html  # drafts never show

    thai = client.get(f"/help/{slug}?lang=th").text
    assert 'lang="th"' in thai
    assert "บัญชีผู้ใช้" in thai and "ศูนย์ช่วยเหลือ Acme" in thai
    german = client.get(f"/help/{slug}", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    assert "Passwort zurücksetzen" in german.text  # the German version's title
    assert "Hilfe-Center" in german.text


def test_collection_page(client: TestClient, slug: str) -> None:
    page = client.get(f"/help/{slug}/collections/account?lang=th")
    assert page.status_code == 200
    assert "บัญชีผู้ใช้" in page.text and "การเข้าสู่ระบบ" in page.text
    assert "Reset your password" in page.text
    assert "Shipping costs" not in page.text
    assert client.get(f"/help/{slug}/collections/nope").status_code == 404


def test_article_in_the_visitors_language_or_the_original_with_a_note(
    client: TestClient, runtime: Runtime, slug: str
) -> None:
    english = client.get(f"/help/{slug}/articles/reset-password?lang=en")
    assert english.status_code == 200
    assert '<h2 id="s-forgot-your-password">Forgot your password</h2>' in english.text
    assert "<strong>Settings</strong>" in english.text
    assert 'id="s-reset-your-password"' not in english.text  # the H1 is the page's title
    assert english.text.count("<h1") == 1
    assert "not available in your language" not in english.text
    assert "Deutsch" in english.text  # "also in" the German version

    german = client.get(f"/help/{slug}/articles/reset-password?lang=de")
    assert "Öffnen Sie <strong>Einstellungen</strong>" in german.text

    thai = client.get(f"/help/{slug}/articles/reset-password?lang=th")
    assert thai.status_code == 200
    assert "บทความนี้ยังไม่มีในภาษาของคุณ จึงแสดงเป็นภาษาอังกฤษ" in thai.text
    assert "Reset your password" in thai.text
    greek = client.get(f"/help/{slug}/articles/shipping", headers={"Accept-Language": "el"})
    assert "εμφανίζεται στα Αγγλικά" in greek.text

    for missing in ("secret-plans", "nope", "Bad%20Key", "x" * 200):
        response = client.get(f"/help/{slug}/articles/{missing}")
        assert response.status_code == 404, missing
        assert "text/html" in response.headers["content-type"]
    assert client.get("/help/no-such-workspace").status_code == 404
    assert client.get("/help/no-such-workspace/articles/x").status_code == 404


def test_every_language_has_every_text() -> None:
    english = TEXTS["en"]
    for language, table in TEXTS.items():
        assert set(table) == set(english), language
        for key, text in english.items():
            for placeholder in re.findall(r"\{\w+\}", text):
                assert placeholder in table[key], (language, key)


def test_language_choice() -> None:
    assert accept_languages("fr-FR, th;q=0.8, en;q=0.9, de;q=0") == ["en", "th"]
    assert accept_languages("zh-Hant-TW") == ["zh"]
    assert accept_languages("garbage;q=x, *") == []
    assert pick_language("th", "de", "en") == "th"
    assert pick_language("xx", "id-ID", "en") == "id"
    assert pick_language(None, None, "es") == "es"
    assert pick_language(None, "fr", "fr") == "en"


HOSTILE = """# Title

[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
[vb](vbscript:msgbox) [ok](https://example.com/a) [rel](/help/other) [mail](mailto:a@b.test)

<img src=x onerror=alert(1)>
<script>alert(1)</script>
<style>body{display:none}</style>
<svg><script>alert(1)</script></svg>
<svg onload=alert(1)></svg>
<a href="javascript:alert(1)">raw link</a>
<iframe src="https://evil.test"></iframe>

![pic](javascript:alert(1)) ![ok](https://example.com/a.png) ![d](data:image/svg+xml;base64,PHN2Zz4=)

[x]( JaVaScRiPt:alert(1) )
"""


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def _assert_inert(html: str, allowed_tags: set[str]) -> None:
    for tag, attrs in _elements(html):
        assert tag in allowed_tags, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name in {"href", "src", "alt", "title", "id", "rel", "class", "lang"}, name
            if name in ("href", "src"):
                url = (value or "").strip().lower()
                assert url.startswith(("https://", "http://", "mailto:", "/", "#")), url


def test_markdown_is_sanitised() -> None:
    html = str(render_markdown(HOSTILE))
    _assert_inert(html, {"h1", "p", "a", "img"})
    # raw HTML is shown as text, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;style&gt;" in html and "<style" not in html
    assert "<svg" not in html and "<iframe" not in html
    assert '<a href="https://example.com/a" rel="noopener noreferrer nofollow">ok</a>' in html
    assert '<a href="/help/other" rel="noopener noreferrer nofollow">rel</a>' in html
    assert 'href="mailto:a@b.test"' in html
    assert '<img src="https://example.com/a.png" alt="ok">' in html
    links = [a.get("href") for tag, a in _elements(html) if tag == "a"]
    assert links == ["https://example.com/a", "/help/other", "mailto:a@b.test"]


def test_hostile_article_is_inert_in_the_help_center(
    client: TestClient, runtime: Runtime, slug: str
) -> None:
    with runtime.db.write() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
        assert workspace is not None
        do_save_article(
            session,
            workspace.id,
            key="hostile",
            language="en",
            title="<img src=x onerror=alert(1)>",
            body=HOSTILE,
            status="published",
        )
    page = client.get(f"/help/{slug}/articles/hostile")
    assert page.status_code == 200
    html = page.text
    body = html.split('<div class="hc-body">', 1)[1].split("</article>", 1)[0]
    _assert_inert(body, {"h1", "p", "a", "img"})
    assert "<img src=x" not in html  # the title is escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    scripts = [re.sub(r"\?v=\w+", "", tag) for tag in re.findall(r"<script[^>]*>", html)]
    assert scripts == [
        '<script src="/static/helpcenter.js" defer>',
        f'<script src="/widget.js" data-workspace="{slug}" data-locale="en" async>',
    ]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    home = client.get(f"/help/{slug}").text
    assert "<img src=x" not in home


def test_search_finds_articles_in_any_language(
    client: TestClient, runtime: Runtime, slug: str
) -> None:
    page = client.get(f"/help/{slug}/search", params={"q": "reset my password", "lang": "en"})
    assert page.status_code == 200
    html = page.text
    first = html.index("Reset your password", html.index("hc-results"))
    assert first < html.find("Shipping costs") or "Shipping costs" not in html[first:]
    assert f"/help/{slug}/articles/reset-password?lang=en#s-" in html
    assert "Secret plans" not in html

    # A Thai question finds the English-only article (here through a Thai example question;
    # the real models do it from the text alone).
    with runtime.db.write() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
        assert workspace is not None
        do_add_example(session, workspace.id, "shipping", "ค่าส่งเท่าไหร่", language="th")
    thai = client.get(f"/help/{slug}/search", params={"q": "ค่าส่งเท่าไหร่", "lang": "th"})
    assert thai.status_code == 200
    results = thai.text[thai.text.index("hc-results") :]
    assert results.index("Shipping costs") < results.find("Reset your password") or (
        "Reset your password" not in results
    )
    assert "ผลการค้นหาสำหรับ “ค่าส่งเท่าไหร่”" in thai.text

    empty = client.get(f"/help/{slug}/search")
    assert empty.status_code == 200 and TEXTS["en"]["empty_query"] in empty.text
    hostile = client.get(f"/help/{slug}/search", params={"q": "<script>alert(1)</script>"})
    assert hostile.status_code == 200
    assert "<script>alert(1)" not in hostile.text
    long = client.get(f"/help/{slug}/search", params={"q": "x" * 5000})
    assert long.status_code == 200


def _views(runtime: Runtime) -> list[tuple[int | None, str, str]]:
    with runtime.db.read() as session:
        return [
            (v.customer_id, v.article_key, v.language)
            for v in session.scalars(select(KbArticleView).order_by(KbArticleView.id))
        ]


def test_views_are_recorded_for_the_widget_visitor(
    client: TestClient, runtime: Runtime, slug: str
) -> None:
    token = new_visitor_token()
    with runtime.db.write() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
        assert workspace is not None
        customer_id = create_visitor(session, workspace, token, language=None).id
        other = make_workspace(session, "Other")
        stranger_token = new_visitor_token()
        create_visitor(session, other, stranger_token, language=None)

    client.get(f"/help/{slug}/articles/reset-password?lang=th")  # anonymous
    client.cookies.set("frontdesk_visitor", token)
    client.get(f"/help/{slug}/articles/reset-password?lang=de")
    client.cookies.set("frontdesk_visitor", stranger_token)  # a visitor of another workspace
    client.get(f"/help/{slug}/articles/shipping")
    client.cookies.set("frontdesk_visitor", "not a token; drop table")
    client.get(f"/help/{slug}/articles/shipping")
    client.get(f"/help/{slug}/articles/secret-plans")  # 404: not a view
    client.get(f"/help/{slug}")  # not an article
    assert _views(runtime) == [
        (None, "reset-password", "en"),
        (customer_id, "reset-password", "de"),
        (None, "shipping", "en"),
        (None, "shipping", "en"),
    ]


def test_the_visitor_script_is_served(client: TestClient) -> None:
    script = client.get("/static/helpcenter.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "frontdesk_visitor" in script.text


@pytest.mark.usefixtures("one_rate_window")
def test_pages_are_rate_limited(client: TestClient, runtime: Runtime, slug: str) -> None:
    from frontdesk.web.helpcenter import router as hc

    statuses = [
        client.get(f"/help/{slug}/search", params={"q": f"q{n}"}).status_code
        for n in range(hc.SEARCHES_PER_MINUTE + 1)
    ]
    assert statuses[:-1] == [200] * hc.SEARCHES_PER_MINUTE
    assert statuses[-1] == 429
    refused = client.get(f"/help/{slug}/search", params={"q": "again"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "text/html" in refused.headers["content-type"]


def test_search_says_when_no_article_matches(client: TestClient, slug: str) -> None:
    nonsense = client.get(f"/help/{slug}/search", params={"q": "zzzxqy", "lang": "en"})
    assert nonsense.status_code == 200
    html = nonsense.text
    assert "hc-results" not in html
    assert "No articles match “zzzxqy”." in html
    assert f'<a href="/help/{slug}?lang=en">Browse all collections</a>' in html
    assert f'<a href="/form/{slug}?lang=en">Contact support</a>' in html

    thai = client.get(f"/help/{slug}/search", params={"q": "กขฃคฅฆง", "lang": "th"}).text
    assert "hc-results" not in thai
    assert "ไม่พบบทความที่ตรงกับ “กขฃคฅฆง”" in thai
    assert f'<a href="/help/{slug}?lang=th">ดูหมวดหมู่ทั้งหมด</a>' in thai
    assert f'<a href="/form/{slug}?lang=th">ติดต่อฝ่ายบริการลูกค้า</a>' in thai

    # a pasted link or emoji alone is nothing to search for
    for nothing in ("https://example.com/orders/123", "😀😀😀"):
        page = client.get(f"/help/{slug}/search", params={"q": nothing}).text
        assert "hc-results" not in page and "No articles match" in page, nothing

    # one word of an article is enough, and only the articles holding it are listed
    found = client.get(f"/help/{slug}/search", params={"q": "delivery", "lang": "en"}).text
    results = found[found.index("hc-results") :]
    assert "Shipping costs" in results and "Reset your password" not in results

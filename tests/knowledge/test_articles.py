from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from frontdesk.knowledge.articles import ArticleError, load_articles, parse_article
from tests.conftest import shared_data

GOOD = """---
id: "reset-password"
title: "Reset your password"
collection: "account-and-security"
language: "en"
tags: ["account", "password"]
updated: "2026-08-02"
---
# Reset your password

If you forgot your password, tap **Forgot password?**.
"""

TRANSLATION = """---
id: reset-password
title: Restablecer la contraseña
language: es
translation_of: reset-password
updated: 2026-08-03
---
Toca **¿Olvidaste tu contraseña?**.
"""


def test_parses_front_matter_and_body() -> None:
    article = parse_article(GOOD, source="reset-password.md")
    assert article.id == "reset-password"
    assert article.title == "Reset your password"
    assert article.language == "en"
    assert article.collection == "account-and-security"
    assert article.tags == ("account", "password")
    assert article.updated == dt.date(2026, 8, 2)
    assert article.translation_of is None
    assert article.body.startswith("# Reset your password")
    assert article.key == ("reset-password", "en")


def test_translation_keeps_the_id_and_an_unquoted_date() -> None:
    article = parse_article(TRANSLATION)
    assert article.key == ("reset-password", "es")
    assert article.translation_of == "reset-password"
    assert article.updated == dt.date(2026, 8, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Just markdown\n", "no front matter"),
        ("---\nid: [unclosed\n---\nbody\n", "not valid YAML (front matter line"),
        ("---\n- a\n- b\n---\nbody\n", "must be YAML fields"),
        ("---\nid: a\nlanguage: en\n---\nbody\n", "needs a non-empty 'title'"),
        ("---\nid: a\ntitle: T\n---\nbody\n", "needs a non-empty 'language'"),
        ("---\nid: a\ntitle: T\nlanguage: fr\n---\nbody\n", "language 'fr' is not supported"),
        ("---\nid: Bad Id\ntitle: T\nlanguage: en\n---\n", "must be lowercase letters"),
        ("---\nid: a\ntitle: T\nlanguage: es\ntranslation_of: b\n---\n", "must equal the id"),
        ("---\nid: a\ntitle: T\nlanguage: en\nupdated: soon\n---\n", "'updated' must be a date"),
        ("---\nid: a\ntitle: {x: 1}\nlanguage: en\n---\n", "'title' must be text"),
        ("---\nid: a\ntitle: T\nlanguage: en\ntags: {a: 1}\n---\n", "'tags' must be a list"),
        ("---\nid: a\ntitle: !!python/object:os.system x\nlanguage: en\n---\n", "not valid YAML"),
        ("---\nid: a\ntitle: T\nlanguage: en\nexamples: 5\n---\n", "'examples' must be a list"),
        ("---\nid: a\ntitle: T\nlanguage: en\nexamples: ['']\n---\n", "each example is"),
        (
            "---\nid: a\ntitle: T\nlanguage: en\nexamples: [{text: Hi, language: fr}]\n---\n",
            "each example is",
        ),
    ],
)
def test_bad_front_matter_says_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ArticleError, match=r"^bad\.md: ") as info:
        parse_article(text, source="bad.md")
    assert message in str(info.value)


def test_example_questions_in_the_front_matter() -> None:
    article = parse_article(
        "---\nid: a\ntitle: T\nlanguage: de\n"
        "examples: ['Passwort  vergessen?', {text: ลืมรหัสผ่าน, language: th}]\n---\nBody\n"
    )
    assert article.examples == (("de", "Passwort vergessen?"), ("th", "ลืมรหัสผ่าน"))


def test_huge_article_is_refused() -> None:
    with pytest.raises(ArticleError, match="split it"):
        parse_article(GOOD + "x" * 300_000)


def test_load_articles_skips_bad_files_and_reports_each(tmp_path: Path) -> None:
    (tmp_path / "reset-password.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "reset-password.es.md").write_text(TRANSLATION, encoding="utf-8")
    (tmp_path / "broken.md").write_text("no front matter", encoding="utf-8")
    (tmp_path / "other-name.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "reset-password.de.md").write_text(TRANSLATION, encoding="utf-8")
    (tmp_path / "latin1.md").write_bytes("---\nid: é\n".encode("latin-1"))
    articles, errors = load_articles(tmp_path)
    assert [a.key for a in articles] == [("reset-password", "es"), ("reset-password", "en")]
    reasons = sorted(str(e) for e in errors)
    assert reasons == [
        "broken.md: no front matter: the file must start with a '---' line, the YAML fields "
        "(id, title, language, ...), and a closing '---' line",
        "latin1.md: not UTF-8 text; save the file as UTF-8",
        "other-name.md: file name says id 'other-name' but front matter says 'reset-password'",
        "reset-password.de.md: file name says language 'de' but front matter says 'es'",
    ]


def test_duplicate_id_and_language_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(GOOD.replace("reset-password", "a"), encoding="utf-8")
    (tmp_path / "a.en.md").write_text(GOOD.replace("reset-password", "a"), encoding="utf-8")
    articles, errors = load_articles(tmp_path)
    assert len(articles) == 1
    assert "duplicate id 'a' in 'en'" in str(errors[0])


def test_helios_knowledge_base_loads_without_errors() -> None:
    articles, errors = load_articles(shared_data("helios", "kb"))
    assert errors == []
    assert len(articles) == 46
    translations = [a for a in articles if a.translation_of]
    assert len(translations) == 12
    assert all(a.translation_of == a.id for a in translations)

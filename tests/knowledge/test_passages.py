from __future__ import annotations

from frontdesk.knowledge.articles import Article
from frontdesk.knowledge.passages import MAX_PASSAGE_CHARS, plain_text, slugify, split_article


def article(body: str, title: str = "Reset your password", language: str = "en") -> Article:
    return Article(id="reset-password", title=title, language=language, body=body)


def test_list_travels_with_its_introduction_and_title_is_kept() -> None:
    body = (
        "# Reset your password\n\n"
        "If you forgot your password:\n\n"
        "1. Tap **Forgot password?**.\n"
        "2. Enter your email.\n\n"
        "No email after 5 minutes? Check the spam folder and the address you signed up with.\n"
    )
    passages = split_article(article(body))
    assert [p.text for p in passages] == [
        "If you forgot your password:\n1. Tap Forgot password?.\n2. Enter your email.",
        "No email after 5 minutes? Check the spam folder and the address you signed up with.",
    ]
    assert all(p.title == "Reset your password" for p in passages)
    assert passages[0].embedding_text.startswith("Reset your password. If you forgot")
    assert [p.position for p in passages] == [0, 1]
    assert all(p.article_id == "reset-password" and p.language == "en" for p in passages)


def test_headings_become_anchors() -> None:
    body = (
        "Intro paragraph that is long enough to stand on its own as a passage here.\n\n"
        "## Two-factor codes\n\nUse the code from your authenticator app to sign in.\n"
    )
    passages = split_article(article(body))
    assert passages[0].heading == "Reset your password"
    assert passages[0].anchor == ""
    assert passages[1].heading == "Two-factor codes"
    assert passages[1].anchor == "two-factor-codes"
    assert passages[1].embedding_text.startswith("Reset your password. Two-factor codes. Use")


def test_anchors_keep_each_script_as_it_is_written() -> None:
    assert slugify("Τιμολόγια επισκευών και σέρβις") == "τιμολόγια-επισκευών-και-σέρβις"
    assert slugify("Größe und Maße") == "größe-und-maße"
    assert slugify("รหัสข้อผิดพลาด E05") == "รหัสข้อผิดพลาด-e05"
    assert slugify("错误代码 E05?") == "错误代码-e05"


def test_long_list_is_cut_into_groups_each_with_the_introduction() -> None:
    items = "\n".join(
        f"- **E{i:02d}** " + "something happened to the inverter " * 3 for i in range(1, 10)
    )
    passages = split_article(article(f"The inverter shows a code:\n\n{items}\n"))
    assert len(passages) > 1
    assert all(p.text.startswith("The inverter shows a code:") for p in passages)
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    joined = "\n".join(p.text for p in passages)
    assert all(f"E{i:02d}" in joined for i in range(1, 10))


def test_short_paragraphs_are_merged_and_an_empty_article_has_its_title() -> None:
    passages = split_article(article("Short one.\n\nAnother short.\n\nThird."))
    assert len(passages) == 1
    assert passages[0].text == "Short one.\nAnother short.\nThird."
    empty = split_article(article(""))
    assert [p.text for p in empty] == ["Reset your password"]


def test_thai_article_and_code_blocks() -> None:
    body = "หากคุณลืมรหัสผ่าน:\n\n1. แตะ **ลืมรหัสผ่าน?**\n\n```\n# not a heading\n```\n"
    passages = split_article(article(body, title="รีเซ็ตรหัสผ่าน", language="th"))
    assert passages[0].text.startswith("หากคุณลืมรหัสผ่าน:\n1. แตะ ลืมรหัสผ่าน?")
    assert all(p.heading == "รีเซ็ตรหัสผ่าน" for p in passages)


def test_plain_text_strips_inline_markdown() -> None:
    assert plain_text("See [the guide](https://x.example) and **bold** `code` *it*") == (
        "See the guide and bold code it"
    )

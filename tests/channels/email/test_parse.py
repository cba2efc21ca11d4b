"""parse_email on real-shaped mail: bodies, charsets, encoded headers, attachments, automatic
mail, broken headers, and input that is not mail at all."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from frontdesk.channels.email.parse import (
    ParsedEmail,
    UnparseableEmail,
    decode_bytes,
    decode_header_value,
    html_to_text,
    parse_email,
    sanitize_html,
)

LIMIT = 1_000_000


def parse(raw: bytes, limit: int = LIMIT) -> ParsedEmail:
    return parse_email(raw, max_attachment_bytes=limit)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def mail(headers: str, body: bytes) -> bytes:
    return crlf(headers.strip("\n") + "\n\n") + body


BASIC = """
From: Ana Pérez <Ana.Perez@Example.COM>
To: Support <support@acme.test>, other@acme.test
Cc: boss@customer.test
Delivered-To: support@acme.test
Subject: Where is my order?
Date: Mon, 1 Dec 2026 10:00:00 +0100
Message-ID: <CAF=abc123@mail.example.com>
In-Reply-To: <out-1@acme.test>
References: <first@acme.test>
 <out-1@acme.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
"""


def test_plain_mail_every_field() -> None:
    parsed = parse(mail(BASIC, b"Hola,\r\nmy order #1234 has not arrived.\r\n"))
    assert parsed.message_id == "CAF=abc123@mail.example.com"
    assert parsed.in_reply_to == ["out-1@acme.test"]
    assert parsed.references == ["first@acme.test", "out-1@acme.test"]
    assert parsed.subject == "Where is my order?"
    assert parsed.from_name == "Ana Pérez"
    assert parsed.from_address == "ana.perez@example.com"
    assert parsed.to == ["support@acme.test", "other@acme.test"]
    assert parsed.cc == ["boss@customer.test"]
    assert parsed.delivered_to == ["support@acme.test"]
    assert parsed.date == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert parsed.text == "Hola,\nmy order #1234 has not arrived."
    assert parsed.html is None
    assert parsed.attachments == []
    assert parsed.dropped == []
    assert parsed.auto_reason is None
    assert parsed.headers["Subject"] == "Where is my order?"
    assert parsed.headers["From"] == "Ana Pérez <Ana.Perez@Example.COM>"


def test_missing_message_id_is_synthesised_stably() -> None:
    raw = mail("From: a@b.test\nSubject: hi", b"body")
    first = parse(raw)
    assert first.message_id == hashlib.sha256(raw).hexdigest() + "@frontdesk.missing-id"
    assert parse(raw).message_id == first.message_id
    assert parse(raw + b"!").message_id != first.message_id
    assert parse(mail("From: a@b.test\nMessage-ID: <>", b"x")).message_id.endswith(
        "@frontdesk.missing-id"
    )


def test_html_only_is_sanitised_and_rendered_as_text() -> None:
    html = (
        "<html><head><title>Newsletter</title><style>p{color:red}</style></head><body>"
        "<p>Hello <b>team</b>,</p><p onclick='steal()'>Line one<br>Line two</p>"
        "<ul><li>first</li><li>second</li></ul>"
        "<p>See <a href='https://example.test/order/1'>my order</a> and "
        "<a href='javascript:alert(1)'>this</a>.</p>"
        "<img src='https://tracker.test/pixel.gif' onerror='alert(1)'>"
        "<svg><script>alert(1)</script></svg><iframe src='https://evil.test'></iframe>"
        "<a href='data:text/html;base64,PHNjcmlwdD4='>data</a>"
        "<div style='background:url(javascript:x)'>styled</div>"
        "</body></html>"
    )
    raw = mail("From: a@b.test\nContent-Type: text/html; charset=utf-8", html.encode())
    parsed = parse(raw)
    assert parsed.html is not None
    lowered = parsed.html.lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "data:", "<img", "<svg", "style="):
        assert bad not in lowered, bad
    assert "<iframe" not in lowered and "tracker.test" not in lowered
    assert '<a href="https://example.test/order/1"' in parsed.html
    assert "Newsletter" not in parsed.html  # the title is not content
    assert parsed.text == (
        "Hello team,\n\nLine one\nLine two\n\n- first\n- second\n\n"
        "See my order (https://example.test/order/1) and this.\n\ndata\nstyled"
    )


def test_multipart_alternative_prefers_the_plain_part_for_text() -> None:
    msg = EmailMessage()
    msg["From"] = "a@b.test"
    msg.set_content("plain version\n")
    msg.add_alternative("<p>html <i>version</i></p>", subtype="html")
    parsed = parse(msg.as_bytes())
    assert parsed.text == "plain version"
    assert parsed.html is not None and "<i>version</i>" in parsed.html


def test_attachments_inline_images_and_the_size_limit() -> None:
    msg = EmailMessage()
    msg["From"] = "a@b.test"
    msg["Subject"] = "invoice"
    msg.set_content("see attached")
    msg.add_alternative('<p>see <img src="cid:logo@x"> attached</p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(b"\x89PNG\r\n\x1a\nlogo", maintype="image", subtype="png", cid="logo@x")
    msg.add_attachment(b"%PDF-1.7 small", maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(b"x" * 5000, maintype="application", subtype="zip", filename="big.zip")
    msg.add_attachment(
        "ünïcødé".encode(), maintype="text", subtype="plain", filename="=?utf-8?q?n=C3=B8te?=.txt"
    )
    parsed = parse(msg.as_bytes(), limit=1000)
    assert parsed.text == "see attached"
    by_name = {a.filename: a for a in parsed.attachments}
    assert set(by_name) == {"attachment-1.png", "a.pdf", "nøte.txt"}
    assert by_name["attachment-1.png"].inline is True
    assert by_name["attachment-1.png"].data == b"\x89PNG\r\n\x1a\nlogo"
    assert by_name["a.pdf"].inline is False
    assert by_name["a.pdf"].declared_type == "application/pdf"
    assert by_name["a.pdf"].data == b"%PDF-1.7 small"
    assert by_name["nøte.txt"].data == "ünïcødé".encode()
    assert len(parsed.dropped) == 1
    assert "big.zip" in parsed.dropped[0] and "5000 bytes" in parsed.dropped[0]
    assert "1000" in parsed.dropped[0]


def test_rfc2231_filename() -> None:
    raw = mail(
        "From: a@b.test\nContent-Type: multipart/mixed; boundary=XX",
        crlf(
            "--XX\nContent-Type: text/plain\n\nbody\n--XX\n"
            "Content-Type: application/octet-stream\n"
            "Content-Disposition: attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A.docx\n"
            "Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"PK\x03\x04").decode()
        )
        + b"\r\n--XX--\r\n",
    )
    parsed = parse(raw)
    assert [a.filename for a in parsed.attachments] == ["報告.docx"]
    assert parsed.attachments[0].data == b"PK\x03\x04"


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "Grüße aus München, señor"),
        ("windows-1252", "“Smart quotes” – and € sign"),
        ("iso-2022-jp", "注文した商品が届きません"),
        ("big5", "我的訂單還沒有到"),
        ("tis-620", "สินค้ายังไม่มาถึงครับ"),
        ("gb2312", "我的订单还没有到"),
        ("koi8-r", "Где мой заказ?"),
    ],
)
@pytest.mark.parametrize("cte", ["8bit", "base64", "quoted-printable"])
def test_body_charsets(charset: str, text: str, cte: str) -> None:
    data = text.encode(charset)
    if cte == "base64":
        body = base64.encodebytes(data)
    elif cte == "quoted-printable":
        import quopri

        body = quopri.encodestring(data)
    else:
        body = data
    raw = mail(
        f"From: a@b.test\nContent-Type: text/plain; charset={charset}\n"
        f"Content-Transfer-Encoding: {cte}",
        body,
    )
    assert parse(raw).text == text


def test_latin1_label_on_windows_1252_and_utf8_bytes() -> None:
    # mislabelled mail as it really arrives: cp1252 punctuation, or UTF-8, under "iso-8859-1"
    cp = mail(
        "From: a@b.test\nContent-Type: text/plain; charset=iso-8859-1", "“ok” €".encode("cp1252")
    )
    assert parse(cp).text == "“ok” €"
    utf = mail("From: a@b.test\nContent-Type: text/plain; charset=iso-8859-1", "naïve".encode())
    assert parse(utf).text == "naïve"


def test_unknown_and_wrong_charsets_never_crash() -> None:
    unknown = mail("From: a@b.test\nContent-Type: text/plain; charset=x-klingon", "café".encode())
    assert parse(unknown).text == "café"
    unknown_8bit = mail(
        "From: a@b.test\nContent-Type: text/plain; charset=unknown-8bit", "café".encode("cp1252")
    )
    assert parse(unknown_8bit).text == "café"
    wrong = mail("From: a@b.test\nContent-Type: text/plain; charset=utf-8", b"caf\xe9 ok")
    assert parse(wrong).text == "caf\ufffd ok"
    codec_trick = mail("From: a@b.test\nContent-Type: text/plain; charset=base64", b"aGk=")
    assert parse(codec_trick).text == "aGk="  # never a bytes-to-bytes codec


def test_encoded_subjects_and_names() -> None:
    headers = (
        "From: =?UTF-8?B?zpzOsc+Bzq/OsQ==?= <maria@example.gr>\n"
        "To: =?iso-8859-1?q?Jos=E9?= <jose@acme.test>\n"
        "Subject: =?UTF-8?B?4Liq4Lin4Lix4Liq4LiU4Li1?= =?UTF-8?B?4LiE4Lij4Lix4Lia?=\n"
        "  and =?ISO-2022-JP?B?GyRCJTUlXSE8JUgbKEI=?= =?x-unknown?q?caf=E9?=\n"
        "Content-Type: text/plain; charset=utf-8"
    )
    parsed = parse(mail(headers, b"hi"))
    assert parsed.from_name == "Μαρία"
    assert parsed.from_address == "maria@example.gr"
    assert parsed.to == ["jose@acme.test"]
    # no space between adjacent encoded words (RFC 2047 6.2), whatever their charsets
    assert parsed.subject == "สวัสดีครับ and サポートcafé"


def test_encoded_name_with_a_comma_stays_one_address() -> None:
    raw = mail("From: =?utf-8?q?Doe=2C_John?= <john@x.test>", b"hi")
    parsed = parse(raw)
    assert (parsed.from_name, parsed.from_address) == ("Doe, John", "john@x.test")


def test_raw_8bit_headers() -> None:
    raw = "From: Zoë <zoe@x.test>\r\nSubject: Grüße\r\n\r\nhi".encode()
    parsed = parse(raw)
    assert parsed.subject == "Grüße" and parsed.from_name == "Zoë"
    thai = "Subject: สวัสดี\r\nContent-Type: text/plain; charset=tis-620\r\n\r\n".encode("tis-620")
    assert parse(thai).subject == "สวัสดี"  # guessed from the body's charset


def test_broken_and_odd_dates() -> None:
    base = "From: a@b.test\nDate: {}"
    assert parse(mail(base.format("yesterday-ish"), b"x")).date is None
    assert parse(mail(base.format("Mon, 32 Foo 2026 99:99:99 +9999"), b"x")).date is None
    assert parse(mail(base.format("Fri, 31 Dec 9999 23:59:59 -1200"), b"x")).date is None
    assert parse(mail("From: a@b.test", b"x")).date is None
    naive = parse(mail(base.format("Mon, 1 Dec 2026 10:00:00 -0000"), b"x")).date
    assert naive == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_unusable_from() -> None:
    for value in ("", "undisclosed", "<>", "a@", "@b", "<not an address>"):
        parsed = parse(mail(f"From: {value}\nSubject: x", b"body"))
        assert parsed.from_address == "", value
    sender = parse(mail("From: nobody\nSender: Real <real@x.test>", b"body"))
    assert sender.from_address == "real@x.test"


DSN = """
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: support@acme.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system. I'm sorry to have to inform you that your message could not be
delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; gone@customer.test
Action: failed
Status: 5.1.1

--B
Content-Type: message/rfc822

From: support@acme.test
To: gone@customer.test
Subject: Re: your order

Our answer.
--B--
"""


def test_delivery_status_bounce() -> None:
    parsed = parse(crlf(DSN.lstrip()))
    assert parsed.auto_reason == "bounce"
    assert "could not be" in parsed.text
    names = [a.filename for a in parsed.attachments]
    assert names == ["delivery-status-1.txt", "message-2.eml"]
    assert b"Status: 5.1.1" in parsed.attachments[0].data
    assert b"Subject: Re: your order" in parsed.attachments[1].data


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto-submitted"),
        ("Auto-Submitted: auto-generated", "auto-submitted"),
        ("X-Autoreply: yes", "x-autoreply"),
        ("X-Autorespond: vacation", "x-autoreply"),
        ("Precedence: bulk", "precedence: bulk"),
        ("Precedence: junk", "precedence: junk"),
        ("Return-Path: <>", "bounce"),
        ("X-Failed-Recipients: gone@x.test", "bounce"),
        ("X-Loop: support@acme.test", "x-loop"),
    ],
)
def test_automatic_mail(header: str, reason: str) -> None:
    raw = mail(f"From: Ana <ana@x.test>\n{header}\nSubject: Out of office", b"I am away")
    assert parse(raw).auto_reason == reason


def test_mail_through_a_group_is_a_customers_mail() -> None:
    # support@ as a Google Group: the customer's question arrives with list headers
    raw = mail(
        "From: Ana <ana@x.test>\nPrecedence: list\nList-Id: <support.acme.test>\nSubject: Help",
        b"My inverter shows E04",
    )
    assert parse(raw).auto_reason is None


def test_out_of_office_reply_and_ordinary_mail() -> None:
    ooo = """
From: Ana <ana@customer.test>
To: support@acme.test
Subject: Automatic reply: Re: your order
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=utf-8

I am out of the office until Monday.
"""
    assert parse(crlf(ooo.lstrip())).auto_reason == "auto-submitted"
    for header in ("Auto-Submitted: no", "Precedence: first-class", "X-Autoreply: no"):
        assert parse(mail(f"From: a@b.test\n{header}", b"x")).auto_reason is None
    assert parse(mail("From: postmaster@mx.test", b"x")).auto_reason == "bounce"
    read_receipt = "From: a@b.test\nContent-Type: multipart/report; report-type=disposition-notification; boundary=Z"
    assert parse(mail(read_receipt, crlf("--Z\n\nread\n--Z--\n"))).auto_reason == "read receipt"


def test_forwarded_message_is_kept_as_an_eml_attachment() -> None:
    inner = EmailMessage()
    inner["From"] = "orig@x.test"
    inner["Subject"] = "original"
    inner.set_content("the original text")
    outer = EmailMessage()
    outer["From"] = "fwd@x.test"
    outer.set_content("FYI, see below")
    outer.add_attachment(inner)
    parsed = parse(outer.as_bytes())
    assert parsed.text == "FYI, see below"
    assert len(parsed.attachments) == 1
    assert parsed.attachments[0].declared_type == "message/rfc822"
    assert b"the original text" in parsed.attachments[0].data


def test_missing_boundary_keeps_the_body_as_text() -> None:
    raw = mail("From: a@b.test\nContent-Type: multipart/mixed", b"just some text\r\n")
    assert "just some text" in parse(raw).text
    wrong = mail(
        "From: a@b.test\nContent-Type: multipart/mixed; boundary=NOPE",
        crlf("--OTHER\nContent-Type: text/plain\n\nhidden text\n--OTHER--\n"),
    )
    assert "hidden text" in parse(wrong).text  # nothing is lost


def test_bad_base64_and_nul_bytes() -> None:
    raw = mail(
        "From: a@b.test\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64",
        b"SGVsbG8gd29y!!!bGQ=\r\n@@@",
    )
    parsed = parse(raw)
    assert isinstance(parsed.text, str)
    nul = parse(mail("From: a@b.test\nSubject: a\x00b", b"te\x00xt"))
    assert nul.subject == "ab" and nul.text == "text"


def test_multiple_inline_text_parts_are_joined() -> None:
    raw = mail(
        "From: a@b.test\nContent-Type: multipart/mixed; boundary=M",
        crlf(
            "--M\nContent-Type: text/plain\n\nfirst half\n"
            "--M\nContent-Type: image/jpeg\nContent-Disposition: inline\n"
            "Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n"
            "--M\nContent-Type: text/plain\n\nsecond half\n--M--\n"
        ),
    )
    parsed = parse(raw)
    assert parsed.text == "first half\n\nsecond half"
    assert [(a.filename, a.inline) for a in parsed.attachments] == [("attachment-1.jpg", True)]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no header"),
        (b"just a line of text without any header\nand another", "no header"),
        (bytes(range(256)) * 4, "no header"),
    ],
)
def test_not_an_email(raw: bytes, reason: str) -> None:
    with pytest.raises(UnparseableEmail) as caught:
        parse(raw)
    assert reason in caught.value.reason


def test_helpers() -> None:
    assert decode_header_value("=?utf-8?q?a_b?=\r\n =?utf-8?q?c?=") == "a bc"
    assert decode_header_value("plain =?utf-8?q?=C3=A9?= text") == "plain é text"
    assert decode_bytes("żółw".encode("iso-8859-2"), "iso-8859-2") == "żółw"
    assert decode_bytes(b"\xe9t\xe9", None) == "été"  # not UTF-8: windows-1252
    assert decode_bytes("été".encode(), None) == "été"
    assert html_to_text("<blockquote><p>old</p></blockquote><p>new</p>") == "> old\n\nnew"
    assert html_to_text("<pre>a\n  b</pre>") == "a\n  b"
    assert html_to_text("a&nbsp;&amp;&lt;b&gt;<br><br>c") == "a &<b>\n\nc"
    assert sanitize_html("<b>x</b>") == "<b>x</b>"
    assert sanitize_html("<script>x</script><style>y</style>") == ""


def test_html_replies_render_to_text_the_quote_stripper_understands() -> None:
    from frontdesk.channels.email.quotes import strip_quotes

    gmail = (
        '<div dir="ltr">Still broken, sorry.<br></div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 1 Dec 2026 at '
        "10:00, Support &lt;support@acme.test&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote"><p>Please restart it.</p></blockquote></div>'
    )
    outlook = (
        "<html><body><p>Thanks, that worked.</p>"
        '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg">'
        "<b>From:</b> Support &lt;support@acme.test&gt;<br><b>Sent:</b> Monday, December 1, "
        "2026 10:00<br><b>To:</b> Ana<br><b>Subject:</b> RE: help</div>"
        "<div><p>Please restart it.</p></div></body></html>"
    )
    for html, expected in ((gmail, "Still broken, sorry."), (outlook, "Thanks, that worked.")):
        parsed = parse(
            mail("From: a@b.test\nContent-Type: text/html; charset=utf-8", html.encode())
        )
        assert "Please restart it." in parsed.text  # the full text keeps the history
        assert strip_quotes(parsed.text) == expected

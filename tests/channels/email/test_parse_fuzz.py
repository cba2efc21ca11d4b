"""parse_email on malformed MIME (hypothesis): a ParsedEmail or UnparseableEmail, nothing else.

The generated mail mixes broken boundaries, bad base64 and quoted-printable, unknown charsets,
huge and non-ASCII raw headers, deep nesting, NUL bytes and truncation. Every ParsedEmail that
comes back must be storable as it is (valid UTF-8, no NUL), and the raw-text fallback of the
parser (kept for bugs in the stdlib) must never be needed.
"""

from __future__ import annotations

from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels.email.parse import ParsedEmail, UnparseableEmail, parse_email

LIMIT = 5_000

CHARSETS = st.sampled_from(
    [
        "utf-8",
        "iso-8859-1",
        "windows-1252",
        "iso-2022-jp",
        "big5",
        "tis-620",
        "gb2312",
        "koi8-r",
        "x-unknown",
        "utf-7",
        "base64",
        "rot13",
        "",
        '"utf-8"',
        "utf-8*en",
        "x" * 80,
    ]
)
ENCODINGS = st.sampled_from(
    ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "bogus", ""]
)
TYPES = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "application/pdf",
        "image/png",
        "message/rfc822",
        "message/delivery-status",
        "text/rfc822-headers",
        "multipart/mixed",
        "application/octet-stream",
        "garbage",
        "text/",
    ]
)
NOISE = st.binary(max_size=300)
TEXTISH = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200
).map(lambda s: s.encode("utf-8"))
BODY = st.one_of(
    NOISE,
    TEXTISH,
    st.sampled_from(
        [
            b"SGVsbG8gd29ybGQ=",
            b"SGVsbG8gd29y!!!bGQ",
            b"=E9t=E9 =ZZ =\r\n soft break=",
            b"begin 644 x\nM86)C\n`\nend\n",
            b"\x00\x00\x00",
            "สวัสดี".encode("tis-620"),
            "注文".encode("iso-2022-jp"),
            b"<html><script>alert(1)</script><p onclick=x>hi</p>",
        ]
    ),
)
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Disposition",
        "Content-ID",
        "Auto-Submitted",
        "Precedence",
        "Return-Path",
        "Delivered-To",
        "X-\xe9t\xe9",
        "Bad Header",
        "",
    ]
)
HEADER_VALUES = st.one_of(
    TEXTISH,
    NOISE,
    st.sampled_from(
        [
            b"=?utf-8?b?8J+YgA==?=",
            b"=?x-unknown?q?caf=E9?= =?utf-8?b?broken?=",
            b"=?iso-2022-jp?b?GyRCJTUlXSE8JUgbKEI=?=",
            b"Ana <ana@example.com>, =?utf-8?q?Doe=2C_J?= <j@x.test>",
            b"<a@b> <c@d> <<>> <",
            b'"unterminated <x@y>',
            b"Mon, 99 Foo 2026 25:61:61 +9999",
            b"attachment; filename*=x-unknown''%FF%FE.txt",
            b'attachment; filename="../../.htaccess"',
            b"A" * 5000,
            b"\r\n folded\r\n\tagain",
        ]
    ),
)


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(HEADER_NAMES).encode("latin-1")
        lines.append(name + b": " + draw(HEADER_VALUES))
    return b"\r\n".join(lines)


@st.composite
def part(draw: st.DrawFn, depth: int = 0) -> bytes:
    content_type = draw(TYPES)
    boundary = draw(st.sampled_from(["b1", "b2", "", "with space", "=_x", "b1"]))
    head = [
        b"Content-Type: "
        + content_type.encode()
        + b"; charset="
        + draw(CHARSETS).encode()
        + (b'; boundary="' + boundary.encode() + b'"' if boundary else b""),
        b"Content-Transfer-Encoding: " + draw(ENCODINGS).encode(),
        draw(headers()),
    ]
    if content_type.startswith("multipart/") and depth < 4:
        children = [draw(part(depth + 1)) for _ in range(draw(st.integers(0, 3)))]
        marker = draw(st.sampled_from([boundary, "b1", "wrong"])).encode()
        body = b"".join(b"--" + marker + b"\r\n" + child + b"\r\n" for child in children)
        if draw(st.booleans()):
            body += b"--" + marker + b"--\r\n"
    else:
        body = draw(BODY)
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    raw = draw(headers()) + b"\r\n" + draw(part())
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]  # truncated in transit
    if draw(st.booleans()):
        raw = raw.replace(b"\r\n", draw(st.sampled_from([b"\n", b"\r", b"\r\n\r\n", b"\x00"])))
    return raw


def check(raw: bytes) -> None:
    try:
        parsed = parse_email(raw, max_attachment_bytes=LIMIT)
    except UnparseableEmail as exc:
        assert exc.reason in (
            "the mail is empty",
            "no header lines: this is not an email (RFC 5322 needs headers)",
        ), exc.reason
        return
    assert isinstance(parsed, ParsedEmail)
    assert not any("could not be read" in d for d in parsed.dropped), parsed.dropped
    strings = [
        parsed.message_id,
        parsed.subject,
        parsed.from_name,
        parsed.from_address,
        parsed.text,
        parsed.html or "",
        *parsed.to,
        *parsed.cc,
        *parsed.delivered_to,
        *parsed.in_reply_to,
        *parsed.references,
        *parsed.dropped,
        *parsed.headers.values(),
        *(a.filename for a in parsed.attachments),
        *(a.declared_type for a in parsed.attachments),
    ]
    for value in strings:
        assert isinstance(value, str)
        value.encode("utf-8")  # storable: no lone surrogate
        assert "\x00" not in value
    assert parsed.message_id
    assert parsed.date is None or parsed.date.tzinfo == UTC
    assert all(len(a.data) <= LIMIT for a in parsed.attachments)
    if parsed.html is not None:
        lowered = parsed.html.lower()
        assert "<script" not in lowered and "onclick" not in lowered


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mails())
def test_malformed_mime_never_crashes(raw: bytes) -> None:
    check(raw)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    check(raw)


def test_handpicked_nasty_inputs() -> None:
    nasty = [
        b"From: a@b\r\n",
        b"From: a@b",
        b":\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 200,
        b"Subject: " + b"=?utf-8?q?" + b"=E9" * 20000 + b"?=\r\n\r\nx",
        b"X: " + b"y" * 1_000_000 + b"\r\n\r\nbody",
        b"From: \xff\xfe\x00<a@b.test>\r\nSubject: \x00\x01\r\n\r\n\x00",
        b'Content-Type: text/plain; charset="\r\n\r\nbody',
        b"Content-Type: message/rfc822\r\n\r\nnot really a message",
        b"Content-Type: multipart/alternative; boundary=z\r\n\r\n--z\r\n\r\n--z--",
        b"Date: Fri, 31 Dec 9999 23:59:59 -2359\r\n\r\nx",
        b"Date: Sat, 1 Jan 0001 00:00:00 +2359\r\n\r\nx",
        b"Content-Transfer-Encoding: base64\r\n\r\n=====",
        b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC.txt\r\n\r\nx",
    ]
    for raw in nasty:
        check(raw)

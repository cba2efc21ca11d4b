"""Raw RFC 5322 mail to a :class:`ParsedEmail`: what the email channel stores and threads.

The stdlib ``email`` package (``policy.default``) reads the MIME structure; everything that
comes out of it is treated as hostile and half-broken:

- Headers are decoded here, from the raw values, rather than by the policy's header classes,
  which raise on some malformed input and decode unknown charsets to U+FFFD: encoded words
  (RFC 2047) with any charset we know, unknown ones guessed (UTF-8, else windows-1252, else
  the charset the body declares); raw 8-bit headers the same way.
- Bodies are decoded with their declared charset; an unknown or wrong one falls back to UTF-8,
  then windows-1252, with replacement characters, never an exception. ``iso-8859-1`` and
  ``us-ascii`` labels are read as windows-1252, as browsers do, because that is what such
  mail actually contains.
- Every string handed back is storable: no NUL, no lone surrogate, ``\\n`` line ends.
- A part that cannot be read is kept as raw bytes (an attachment) rather than dropped; only
  attachments over the size limit are dropped, and ``dropped`` says so.

Input that is not an email at all (empty, no header) raises :class:`UnparseableEmail` with the
reason; anything else gives a :class:`ParsedEmail`, however broken.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import logging
import mimetypes
import quopri
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Final

import nh3

from frontdesk.channels.email.addresses import (
    clean_message_id,
    message_id_list,
    normalize_address,
    recipients,
)

__all__ = [
    "ParsedAttachment",
    "ParsedEmail",
    "UnparseableEmail",
    "decode_bytes",
    "decode_header_value",
    "html_to_text",
    "parse_email",
    "sanitize_html",
]

log = logging.getLogger(__name__)

MAX_SUBJECT_CHARS: Final = 1000
MAX_NAME_CHARS: Final = 200
MAX_HEADER_CHARS: Final = 2000  # each value kept in ParsedEmail.headers
MAX_ADDRESSES: Final = 100  # per recipient header
MAX_PARTS: Final = 500  # MIME parts looked at; the rest is listed in dropped
MAX_DEPTH: Final = 20  # nesting of multiparts

# Headers worth keeping verbatim (decoded) with the message.
KEPT_HEADERS: Final = (
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Delivered-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Return-Path",
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "List-Id",
    "Content-Type",
    "User-Agent",
    "X-Mailer",
)


class UnparseableEmail(Exception):
    """The input is not an email at all; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # as the sender named it (or derived from the type): not yet normalised
    declared_type: str  # the Content-Type the sender declared: never trusted for serving
    data: bytes
    inline: bool  # shown inside the message (cid: images) rather than attached


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    delivered_to: list[str]
    date: datetime | None
    text: str
    html: str | None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    auto_reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- text decoding

# Labels that mean something else in practice, or that Python does not know.
_CHARSET_ALIASES: Final = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "iso-8859-11": "cp874",
    "tis620": "tis-620",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
}
# Codecs that are not text encodings (bytes-to-bytes, or Python-specific): never use them for
# a label a sender chose.
_REFUSED_CODECS: Final = frozenset(
    {
        "base64",
        "bz2",
        "hex",
        "quopri",
        "rot-13",
        "uu",
        "zlib",
        "punycode",
        "idna",
        "raw-unicode-escape",
        "unicode-escape",
        "undefined",
        "mbcs",
        "oem",
        "utf-7",
        "palmos",
    }
)


def _codec(charset: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when it is unknown or unsafe."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = label.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if not label or len(label) > 40:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    if not label:
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    name = info.name
    if name in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    if name == "iso8859-1" or name == "ascii":  # reached by a name not in the alias table
        return "cp1252"
    return name


# Labels under which UTF-8 is often sent by mistake: 8-bit text that is valid UTF-8 is read so.
_MISLABELLED: Final = frozenset(
    {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii", "ansi_x3.4-1968"}
)


def decode_bytes(data: bytes, charset: str | None, *, fallback: str | None = None) -> str:
    """Bytes to text with the declared charset. Unknown or missing: UTF-8 if it is valid, else
    ``fallback`` (another charset the message declares) if it fits, else windows-1252. Invalid
    sequences become U+FFFD; this never raises."""
    codec = _codec(charset)
    label = (charset or "").strip().strip("\"'").lower()
    if codec is not None and label not in _MISLABELLED:
        try:
            return data.decode(codec, "replace")
        except Exception:  # a codec raising something other than UnicodeError
            log.debug("charset %s failed", codec, exc_info=True)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None:  # a latin-1 or ascii label on 8-bit text: windows-1252
        return data.decode(codec, "replace")
    other = _codec(fallback)
    if other is not None and other not in ("utf-8", "cp1252"):
        try:
            return data.decode(other)
        except Exception:  # noqa: S110 - a wrong guess; the last resort follows
            pass
    return data.decode("cp1252", "replace")


_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _storable(text: str) -> str:
    """No lone surrogate (not UTF-8 encodable), no NUL (PostgreSQL refuses it)."""
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text.replace("\x00", "")


def _raw_text(value: str, fallback: str | None) -> str:
    """A raw header value (8-bit bytes kept as surrogate escapes by the parser) as text."""
    if not _SURROGATES.search(value):
        return value
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", value)
    return decode_bytes(data, None, fallback=fallback)


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?]*?)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")


def _decode_word(charset: str, encoding: str, payload: str, fallback: str | None) -> str:
    try:
        if encoding in "bB":
            compact = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            compact += "=" * (-len(compact) % 4)
            if len(compact) % 4 == 1:  # one stray character cannot be decoded
                compact = compact[:-1]
            data = base64.b64decode(compact)
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"))
    except (binascii.Error, ValueError):
        return payload
    return decode_bytes(data, charset, fallback=fallback)


def decode_header_value(value: str, *, fallback: str | None = None) -> str:
    """A raw header value, unfolded, with its RFC 2047 encoded words decoded."""
    text = _raw_text(value, fallback)
    text = re.sub(r"\r?\n(?=[ \t])", "", text).replace("\r", "").replace("\n", " ")
    if "=?" in text:
        # whitespace between two adjacent encoded words is not part of the text (RFC 2047 6.2)
        text = _BETWEEN_WORDS.sub(r"\1\2", text)
        text = _ENCODED_WORD.sub(
            lambda m: _decode_word(m[1], m[2], m[3], fallback).replace("\r", "").replace("\n", " "),
            text,
        )
    return _storable(_CONTROL.sub("", text))


def _folded(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- HTML

SAFE_TAGS: Final = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li",
    "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
SAFE_ATTRIBUTES: Final = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "ol": {"start"},
    "blockquote": {"cite"},
}
SAFE_URL_SCHEMES: Final = {"http", "https", "mailto"}
_DROPPED_WITH_CONTENT: Final = {"script", "style", "title", "head", "noscript", "template"}


def sanitize_html(html: str) -> str:
    """The HTML of an email, safe to show: an allow-list of text tags; no script, style,
    event handler, form or SVG; links only http(s) and mailto; no images (remote ones are
    trackers, inline ones are the attachments)."""
    try:
        cleaned = nh3.clean(
            html,
            tags=SAFE_TAGS,
            clean_content_tags=_DROPPED_WITH_CONTENT,
            attributes=SAFE_ATTRIBUTES,
            url_schemes=SAFE_URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    except Exception:  # nh3 refusing its input: keep nothing of the markup
        log.warning("nh3 could not clean an email's HTML", exc_info=True)
        return _escape(html_to_text(html))
    return _storable(str(cleaned))


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
    )


_BLOCK_TAGS: Final = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
        "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_SKIPPED_TAGS: Final = frozenset({"script", "style", "head", "title", "noscript", "template"})
_PARAGRAPHS: Final = frozenset(
    {"p", "blockquote", "table", "h1", "h2", "h3", "h4", "pre", "ul", "ol"}
)
_VOID_TAGS: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _TextRenderer(HTMLParser):
    """Text of an HTML body: paragraphs and line breaks kept, links as "text (url)",
    list items with "- ", blockquotes as "> " lines (what the quote stripper knows)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.quote_depth = 0
        self.line_depth = 0  # the quote depth where the current line started
        self.skip = 0  # inside <script>, <style>, <head>...
        self.pre = 0
        self.links: list[tuple[str, list[str]]] = []  # href, text collected so far

    def _newline(self, *, blank: bool = False) -> None:
        text = "".join(self.line).rstrip()
        self.line = []
        if text:
            self.lines.append("> " * self.line_depth + text)
        elif not blank:  # a <br> on an empty line: an empty line
            self.lines.append("")
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.line_depth = self.quote_depth

    def _write(self, text: str) -> None:
        if not self.line:
            self.line_depth = self.quote_depth
        self.line.append(text)
        for _, collected in self.links:
            collected.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self._newline()
        elif tag in _BLOCK_TAGS:
            if tag in ("td", "th"):
                if self.line:
                    self._write(" ")
                return
            if self.line or tag in _PARAGRAPHS:
                self._newline(blank=tag in _PARAGRAPHS)
            if tag == "blockquote":
                self.quote_depth += 1
                self.line_depth = self.quote_depth
            elif tag == "li":
                self._write("- ")
            elif tag == "pre":
                self.pre += 1
            elif tag == "hr":
                self._write("---")
                self._newline()
        elif tag == "a":
            self.links.append(((dict(attrs).get("href") or "").strip(), []))
        elif tag == "img":
            alt = " ".join((dict(attrs).get("alt") or "").split())
            if alt:
                self._write(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a":
            if self.links:
                href, collected = self.links.pop()
                text = " ".join("".join(collected).split())
                shown = href[7:] if href.lower().startswith("mailto:") else href
                if (
                    href.lower().startswith(("http://", "https://", "mailto:"))
                    and shown
                    and shown.rstrip("/") not in text
                ):
                    self._write(f" ({shown})" if text else shown)
        elif tag in _BLOCK_TAGS and tag not in ("td", "th"):
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            if self.line or tag in _PARAGRAPHS:
                self._newline(blank=tag in _PARAGRAPHS)
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
                self.line_depth = self.quote_depth

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            for i, piece in enumerate(data.replace("\r\n", "\n").split("\n")):
                if i:
                    self._newline()
                if piece:
                    self._write(piece)
            return
        text = re.sub(r"[ \t\r\n\f\u00a0\u200b]+", " ", data)
        if not self.line or "".join(self.line).endswith(" "):
            text = text.lstrip()
        if text:
            self._write(text)

    def text(self) -> str:
        if self.line:
            self._newline()
        lines: list[str] = []
        for line in self.lines:
            if line or (lines and lines[-1]):
                lines.append(line)
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)


def html_to_text(html: str) -> str:
    """A plain-text rendering of HTML (no dependency: the stdlib's tolerant parser)."""
    renderer = _TextRenderer()
    try:
        renderer.feed(html)
        renderer.close()
    except Exception:  # html.parser is tolerant; this is belt and braces
        log.debug("html.parser failed", exc_info=True)
        return _storable(re.sub(r"<[^>]*>", " ", html))
    return _storable(renderer.text())


# --------------------------------------------------------------------------- the MIME tree


def _header_raw(msg: Message, name: str) -> list[str]:
    """Every raw value of a header, as the parser read it (no policy parsing, so no error)."""
    lowered = name.lower()
    try:
        return [str(v) for k, v in msg.raw_items() if k.lower() == lowered]
    except Exception:
        return []


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    value = value.lower()
    return value if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", value) else "text/plain"


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    try:
        value = part.get_param(name, None, header)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        try:
            from email.utils import collapse_rfc2231_value

            value = collapse_rfc2231_value(value, errors="replace")
        except Exception:
            value = str(value[2])
    return str(value)


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        raw = _header_raw(part, "Content-Disposition")
        value = raw[0].split(";", 1)[0].strip().lower() if raw else None
    return value


def _filename(part: Message, fallback_charset: str | None) -> str:
    name: str | None = None
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        name = _param(part, "name")
    if not name:
        return ""
    return _folded(decode_header_value(str(name), fallback=fallback_charset))


def _payload_bytes(part: Message) -> bytes:
    """The decoded bytes of a leaf part; the raw bytes when the transfer encoding is broken."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, bytes):
        return raw
    return b""


def _message_bytes(part: Message) -> bytes:
    """A message/* part (a forwarded mail, a delivery-status report) as bytes."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _payload_bytes(part)
    chunks = []
    for sub in payload:
        if not isinstance(sub, Message):
            continue
        for pol in (policy.default, policy.compat32):
            try:
                chunks.append(sub.as_bytes(policy=pol))
                break
            except Exception:  # noqa: S112 - try the other policy
                continue
        else:
            chunks.append(str(sub.get_payload()).encode("utf-8", "surrogateescape"))
    return b"\n".join(chunks)


def _default_name(content_type: str, index: int) -> str:
    if content_type == "message/rfc822":
        return f"message-{index}.eml"
    if content_type.startswith("message/"):
        return f"{content_type.split('/', 1)[1]}-{index}.txt"
    ext = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"attachment-{index}{ext}"


@dataclass
class _Walk:
    max_attachment_bytes: int
    fallback_charset: str | None
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    parts: int = 0
    has_delivery_status: bool = False


def _text_of(part: Message, walk: _Walk) -> str:
    data = _payload_bytes(part)
    charset = _param(part, "charset")
    return _storable(decode_bytes(data, charset, fallback=walk.fallback_charset))


def _attach(part: Message, walk: _Walk, *, inline: bool, content_type: str) -> None:
    if content_type.startswith("message/") or (part.is_multipart() and not _is_multi(part)):
        data = _message_bytes(part)
    else:
        data = _payload_bytes(part)
    index = len(walk.attachments) + 1
    name = _filename(part, walk.fallback_charset) or _default_name(content_type, index)
    if len(data) > walk.max_attachment_bytes:
        walk.dropped.append(
            f"attachment {name!r} ({len(data)} bytes) is over the limit of "
            f"{walk.max_attachment_bytes} bytes"
        )
        return
    walk.attachments.append(ParsedAttachment(name, content_type, data, inline))


def _is_multi(part: Message) -> bool:
    return part.is_multipart() and _content_type(part).startswith("multipart/")


def _walk(part: Message, walk: _Walk, depth: int, *, inline_context: bool = False) -> None:
    walk.parts += 1
    if walk.parts > MAX_PARTS:
        if walk.parts == MAX_PARTS + 1:
            walk.dropped.append(
                f"the mail has more than {MAX_PARTS} MIME parts; the rest were not read"
            )
        return
    content_type = _content_type(part)
    if content_type == "message/delivery-status":
        walk.has_delivery_status = True
    if _is_multi(part):
        children = [c for c in (part.get_payload() or []) if isinstance(c, Message)]
        if depth >= MAX_DEPTH:
            walk.dropped.append(f"MIME parts nested deeper than {MAX_DEPTH} levels")
            return
        if content_type == "multipart/alternative":
            _walk_alternative(children, walk, depth)
        elif content_type == "multipart/related" and children:
            _walk(children[0], walk, depth + 1, inline_context=inline_context)
            for child in children[1:]:
                _walk(child, walk, depth + 1, inline_context=True)
        else:
            for child in children:
                _walk(child, walk, depth + 1, inline_context=inline_context)
        return
    disposition = _disposition(part)
    has_name = bool(_filename(part, walk.fallback_charset))
    is_body = (
        disposition != "attachment"
        and not has_name
        and (content_type in ("text/plain", "text/html") or content_type.startswith("multipart/"))
    )
    if is_body and not inline_context:
        text = _text_of(part, walk)
        if content_type == "text/html":
            walk.html.append(text)
        else:  # text/plain, or a multipart whose boundary is missing: its body as text
            walk.plain.append(text)
        return
    if content_type.startswith("multipart/") and not has_name:
        # a broken multipart inside a related part: keep its text as a plain body
        walk.plain.append(_text_of(part, walk))
        return
    try:
        has_cid = bool(part.get("Content-ID"))
    except Exception:
        has_cid = bool(_header_raw(part, "Content-ID"))
    inline = disposition == "inline" or (disposition is None and (inline_context or has_cid))
    _attach(part, walk, inline=inline, content_type=content_type)


def _walk_alternative(children: list[Message], walk: _Walk, depth: int) -> None:
    """The richest alternative for HTML, the plain one for text; attachments of every one."""
    best_plain: list[str] | None = None
    best_html: list[str] | None = None
    for child in children:
        sub = _Walk(walk.max_attachment_bytes, walk.fallback_charset, parts=walk.parts)
        _walk(child, sub, depth + 1)
        walk.parts = sub.parts
        walk.attachments.extend(sub.attachments)
        walk.dropped.extend(sub.dropped)
        walk.has_delivery_status = walk.has_delivery_status or sub.has_delivery_status
        if sub.plain and best_plain is None:
            best_plain = sub.plain
        if sub.html:
            best_html = sub.html
    if best_plain is not None:
        walk.plain.extend(best_plain)
    if best_html is not None:
        walk.html.extend(best_html)


# --------------------------------------------------------------------------- headers


def _first(msg: Message, name: str, fallback: str | None) -> str:
    values = _header_raw(msg, name)
    return decode_header_value(values[0], fallback=fallback) if values else ""


def _addresses(msg: Message, names: tuple[str, ...], fallback: str | None) -> list[str]:
    raw: list[str] = []
    for name in names:
        raw.extend(_raw_text(v, fallback) for v in _header_raw(msg, name))
    try:
        found = recipients([re.sub(r"\r?\n[ \t]", " ", v) for v in raw])
    except Exception:
        found = []
    return found[:MAX_ADDRESSES]


def _sender(msg: Message, fallback: str | None) -> tuple[str, str]:
    """(display name, address) of From, else Sender; ("", "") when neither is usable."""
    for name in ("From", "Sender"):
        for value in _header_raw(msg, name):
            unfolded = re.sub(r"\r?\n[ \t]", " ", _raw_text(value, fallback))
            try:
                pairs = getaddresses([unfolded])
            except Exception:
                pairs = []
            for display, addr in pairs:
                address = normalize_address(addr)
                if address:
                    display_name = _folded(decode_header_value(display, fallback=fallback))
                    return display_name.strip("\"' ")[:MAX_NAME_CHARS], address
    return "", ""


def _date(msg: Message) -> datetime | None:
    values = _header_raw(msg, "Date")
    if not values:
        return None
    try:
        parsed = parsedate_to_datetime(_folded(values[0]))
        if parsed.tzinfo is None:  # "-0000": no zone information; read as UTC
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except Exception:  # ValueError, TypeError, IndexError, OverflowError on broken dates
        return None


# "list" is not among them: a customer writing through a group that forwards to support@ is
# still a customer, and our answer goes to the From address, never to the list.
_AUTO_PRECEDENCE: Final = frozenset({"bulk", "junk", "auto_reply", "auto-reply"})
_BOUNCE_SENDERS: Final = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})


def _auto_reason(msg: Message, from_address: str, walk: _Walk) -> str | None:
    """Why this mail was sent by a machine and must never be answered (RFC 3834 and the
    de-facto headers of autoresponders, bounces and lists)."""
    content_type = _content_type(msg)
    report_type = (_param(msg, "report-type") or "").lower()
    if content_type == "multipart/report":
        if report_type == "disposition-notification":
            return "read receipt"
        return "bounce" if report_type in ("delivery-status", "") else f"report: {report_type}"
    if walk.has_delivery_status or _header_raw(msg, "X-Failed-Recipients"):
        return "bounce"
    local = from_address.partition("@")[0]
    if local in _BOUNCE_SENDERS:
        return "bounce"
    return_path = _header_raw(msg, "Return-Path")
    if return_path and _folded(return_path[0]) in ("<>", ""):
        return "bounce"
    auto = _folded(" ".join(_header_raw(msg, "Auto-Submitted"))).lower()
    if auto and not auto.startswith("no"):
        return "auto-submitted"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Autogenerated"):
        value = _folded(" ".join(_header_raw(msg, name))).lower()
        if value and value not in ("no", "false", "0"):
            return "x-autoreply"
    precedence = _folded(" ".join(_header_raw(msg, "Precedence"))).lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"precedence: {precedence}"
    if _header_raw(msg, "X-Loop"):
        return "x-loop"
    return None


# --------------------------------------------------------------------------- parse_email


_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]{1,76}")


def parse_email(raw: bytes, *, max_attachment_bytes: int) -> ParsedEmail:
    """Parse one raw mail. Raises :class:`UnparseableEmail` only for input that is not an
    email at all; never any other exception."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise UnparseableEmail(f"expected the raw bytes of a mail, got {type(raw).__name__}")
    raw = bytes(raw)
    if not raw.strip():
        raise UnparseableEmail("the mail is empty")
    msg: Message
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the feed parser is tolerant; this would be a stdlib bug
        log.warning("email parser failed on %d bytes", len(raw), exc_info=True)
        try:
            msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        except Exception:
            raise UnparseableEmail(f"the mail could not be read: {exc}") from exc
    try:
        names = [k for k, _ in msg.raw_items()]
    except Exception:
        names = []
    if not any(_FIELD_NAME.fullmatch(n) for n in names):
        raise UnparseableEmail("no header lines: this is not an email (RFC 5322 needs headers)")
    try:
        return _build(msg, raw, max_attachment_bytes)
    except Exception as exc:
        # Not expected (every part is read defensively), but a mail must never be lost to a
        # bug in here or in the stdlib: keep its body as raw text, and say so.
        log.exception("email structure could not be read; keeping the raw body")
        return _raw_fallback(msg, raw, f"the MIME structure could not be read ({exc!r})")


def _raw_fallback(msg: Message, raw: bytes, reason: str) -> ParsedEmail:
    _, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        _, sep, body = raw.partition(b"\n\n")
    if not sep:
        body = raw
    message_id = None
    try:
        message_id = clean_message_id(_first(msg, "Message-ID", None))
    except Exception:
        log.debug("no Message-ID in the fallback", exc_info=True)
    try:
        from_name, from_address = _sender(msg, None)
    except Exception:
        from_name, from_address = "", ""
    text = _CONTROL.sub("", _storable(decode_bytes(body, None)).replace("\r\n", "\n"))
    return ParsedEmail(
        message_id=_storable(
            message_id or hashlib.sha256(raw).hexdigest() + "@frontdesk.missing-id"
        ),
        in_reply_to=[],
        references=[],
        subject="",
        from_name=from_name,
        from_address=from_address,
        to=[],
        cc=[],
        delivered_to=[],
        date=None,
        text=text,
        html=None,
        attachments=[],
        dropped=[reason + "; the body is kept as raw text"],
        auto_reason=None,
        headers={},
    )


def _build(msg: Message, raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    body_charset = _param(msg, "charset")
    if body_charset is None and isinstance(msg, EmailMessage):
        for part in _leaves(msg):
            body_charset = _param(part, "charset")
            if body_charset:
                break
    fallback = body_charset

    message_id = clean_message_id(_first(msg, "Message-ID", fallback))
    if not message_id:
        message_id = hashlib.sha256(raw).hexdigest() + "@frontdesk.missing-id"
    from_name, from_address = _sender(msg, fallback)

    walk = _Walk(max_attachment_bytes=max_attachment_bytes, fallback_charset=fallback)
    _walk(msg, walk, 0)
    text = "\n\n".join(t.strip("\n") for t in walk.plain if t.strip())
    html_source = "\n".join(walk.html)
    html = sanitize_html(html_source) if walk.html else None
    if not text and walk.html:
        text = html_to_text(html_source)
    text = _storable(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).lstrip("\n").rstrip()

    headers: dict[str, str] = {}
    for name in KEPT_HEADERS:
        values = _header_raw(msg, name)
        if values:
            value = decode_header_value(values[0], fallback=fallback).strip()
            headers[name] = value[:MAX_HEADER_CHARS]

    return ParsedEmail(
        message_id=_storable(message_id),
        in_reply_to=[_storable(m) for m in message_id_list(_first(msg, "In-Reply-To", None))][
            :MAX_ADDRESSES
        ],
        references=[_storable(m) for m in message_id_list(_first(msg, "References", None))][
            -MAX_ADDRESSES:
        ],
        subject=_folded(_first(msg, "Subject", fallback))[:MAX_SUBJECT_CHARS],
        from_name=from_name,
        from_address=from_address,
        to=_addresses(msg, ("To",), fallback),
        cc=_addresses(msg, ("Cc",), fallback),
        delivered_to=_addresses(msg, ("Delivered-To", "X-Original-To", "Envelope-To"), fallback),
        date=_date(msg),
        text=text,
        html=html,
        attachments=walk.attachments,
        dropped=walk.dropped,
        auto_reason=_auto_reason(msg, from_address, walk),
        headers=headers,
    )


def _leaves(msg: Message) -> list[Message]:
    found: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and len(found) < MAX_PARTS:
        part, depth = stack.pop()
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list) and depth < MAX_DEPTH:
            stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))
        else:
            found.append(part)
    return found

"""The new part of an email reply: what the bot, the guardrails and the routing read.

Mail clients append the whole history to a reply. :func:`strip_quotes` cuts it at the first
sign of quoted history, in the mail clients' wordings of en, de, es, fr, el, id, th and zh
(plus nl, it, pt):

- an attribution line, "On Mon, 1 Dec 2026, Ana <ana@example.com> wrote:", possibly wrapped
  over up to three lines, and its localised forms ("Am ... schrieb ...:", "El ... escribió:",
  "Le ... a écrit :", "... έγραψε:", "Pada ... menulis:", "เมื่อ ... เขียนว่า:", "... 写道:");
  it must carry a digit or an "@" (a date or an address), so a sentence that merely starts with
  "On" and ends with "wrote:" is not taken for one;
- "-----Original Message-----" and its translations;
- an Outlook header block: "From: ..." followed within a few lines by "Sent: ..." or
  "Date: ..." (and their translations), with the "_____" rule above it if there is one;
- every line starting with ">" (so inline answers between quoted lines are kept);
- a signature: the "-- " delimiter line, or a "Sent from my iPhone" line in any of the
  languages.

If stripping would leave nothing, the text is returned unchanged (a reply written below the
quote is kept: the quote is removed and the rest stays). The original is always stored; this is
only what the automation reads.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["strip_quotes"]

# A date or an address: what makes an attribution line an attribution.
_EVIDENCE = re.compile(r"[0-9@]|[٠-٩๐-๙]")

_ATTRIBUTIONS: Final = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^on\b.{4,300}\bwrote\s*:$",  # en
        r"^am\b.{4,300}\bschrieb\b.{0,200}:$",  # de
        r"^el\b.{4,300}\bescribi[óo]\s*:$",  # es
        r"^le\b.{4,300}\ba\s+[ée]crit\s*:$",  # fr
        r"^.{4,300}\bέγραψε\s*:$",  # el: "Στις ... ο/η Ana <a@x> έγραψε:"
        r"^pada\b.{4,300}\bmenulis\s*:$",  # id
        r"^.{0,20}เมื่อ.{4,300}เขียน(?:ว่า)?\s*:?$",  # th
        r"^.{4,300}(?:写道|寫道)\s*[:：]?$",  # zh
        r"^op\b.{4,300}\bschreef\b.{0,200}:$",  # nl
        r"^il\b.{4,300}\bha\s+scritto\s*:$",  # it
        r"^em\b.{4,300}\bescreveu\s*:$",  # pt
    )
]
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|mensaje original|"
    r"message d'origine|message original|αρχικό μήνυμα|pesan asli|ข้อความต้นฉบับ|原始邮件|"
    r"原始郵件|原始信件|oorspronkelijk bericht|messaggio originale|mensagem original)\s*-{2,}$",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(
    r"^\*?\s*(?:from|von|de|από|dari|จาก|发件人|寄件者|van|da)\s*\*?\s*[:：]\s*\S",
    re.IGNORECASE,
)
_SENT_LINE = re.compile(
    r"^\*?\s*(?:sent|date|gesendet|datum|enviado|fecha|envoyé|στάλθηκε|ημερομηνία|terkirim|"
    r"tanggal|ส่ง|วันที่|发送时间|发送日期|日期|时间|寄件日期|verzonden|inviato|data)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_RULE = re.compile(r"^(?:_{3,}|-{3,})$")
_SIGNATURE_DELIMITER = "--"
_MOBILE: Final = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^sent from my .{1,40}$",
        r"^sent from (?:mail|outlook|yahoo mail|gmail|aol|proton ?mail)\b.{0,40}$",
        r"^get outlook for .{1,20}$",
        r"^(?:von meinem .{1,40} gesendet|gesendet von meinem .{1,40})$",
        r"^enviado desde mi .{1,40}$",
        r"^envoyé (?:de|depuis) mon .{1,40}$",
        r"^στάλθηκε από .{1,40}$",
        r"^dikirim dari .{1,40}$",
        r"^ส่งจาก .{1,40}$",
        r"^(?:发自我的|發自我的|来自我的|來自我的).{1,30}$",
        r"^從我的.{1,30}傳送$",
        r"^verzonden (?:met|vanaf) mijn .{1,40}$",
        r"^inviato da .{1,40}$",
        r"^enviado do meu .{1,40}$",
    )
]


def _clean(line: str) -> str:
    return line.strip().strip("*_").strip()


def _is_attribution(text: str, *, quote_follows: bool = False) -> bool:
    text = " ".join(text.split())
    if len(text) > 400 or not (quote_follows or _EVIDENCE.search(text)):
        return False
    return any(p.match(text) for p in _ATTRIBUTIONS)


def _quote_follows(lines: list[str], i: int) -> bool:
    """Whether the first non-blank line from ``i`` on is a quoted (">") line."""
    for line in lines[i:]:
        if line.strip():
            return _is_quoted(line)
    return False


def _attribution_at(lines: list[str], i: int) -> int:
    """How many lines (1 to 3) the attribution starting at line ``i`` spans; 0 if none.

    Without a date or an address in it ("On Monday, Northwind wrote:"), a line counts only
    when quoted (">") lines follow it."""
    for span in (1, 2, 3):
        chunk = lines[i : i + span]
        if len(chunk) < span or (span > 1 and not chunk[-1].strip()):
            break
        text = " ".join(_clean(line) for line in chunk)
        if _is_attribution(text, quote_follows=_quote_follows(lines, i + span)):
            return span
    return 0


def _outlook_block_at(lines: list[str], i: int) -> bool:
    if not _FROM_LINE.match(lines[i].strip()):
        return False
    return any(_SENT_LINE.match(line.strip()) for line in lines[i + 1 : i + 6])


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _history_start(lines: list[str]) -> tuple[int | None, int]:
    """The first line of the quoted history, and how many attribution lines it starts with
    (0 for the other kinds of history: they carry the old text unprefixed below them)."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _is_quoted(line):
            continue
        span = _attribution_at(lines, i)
        if span:
            return i, span
        if _ORIGINAL_MESSAGE.match(stripped):
            return i, 0
        if _outlook_block_at(lines, i):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            if j >= 0 and _RULE.match(lines[j].strip()):
                return j, 0
            return i, 0
    return None, 0


def _signature_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if line.rstrip() == _SIGNATURE_DELIMITER:
            return i
        cleaned = _clean(line)
        if cleaned and any(p.match(cleaned) for p in _MOBILE):
            return i
    return None


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def strip_quotes(text: str) -> str:
    """``text`` without the quoted history and the signature; ``text`` itself when nothing
    would be left."""
    if not text or not text.strip():
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    start, header_lines = _history_start(lines)
    top = lines if start is None else lines[:start]
    signature = _signature_start(top)
    if signature is not None:
        top = top[:signature]
    result = _tidy([line for line in top if not _is_quoted(line)])
    if result:
        return result

    if start is not None and header_lines:
        # Written below the quote (bottom-posting): drop the attribution and the ">" lines,
        # keep what follows them.
        below = lines[start + header_lines :]
        kept = [line for line in below if not _is_quoted(line)]
        if _history_start(kept)[0] is None:  # no further history: this is the new text
            signature = _signature_start(kept)
            if signature is not None:
                kept = kept[:signature]
            result = _tidy(kept)
            if result:
                return result
    return text

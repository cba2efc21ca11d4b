"""Split an article into passages, so the bot shows the part that answers, not the whole article.

A passage is a paragraph, or a list together with the sentence that introduces it ("If you
forgot your password:" + the numbered steps), under its heading. Long lists are cut into groups
of items, each with the introduction again. Very short paragraphs are joined to the next one of
the same section. The title is kept with every passage (in :attr:`Passage.embedding_text`) so a
passage read alone still says what it is about.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from frontdesk.knowledge.articles import Article

__all__ = ["Passage", "plain_text", "split_article"]

MAX_PASSAGE_CHARS = 600
MIN_PASSAGE_CHARS = 60

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_BULLET = re.compile(r"^[-*+]\s+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_HTML_TAG = re.compile(r"<[^>]{1,200}>")


@dataclass(frozen=True)
class Passage:
    article_id: str
    language: str
    title: str
    heading: str
    anchor: str
    text: str
    position: int

    @property
    def embedding_text(self) -> str:
        """What the models read: title, the heading when it adds something, and the text."""
        if self.heading and self.heading != self.title:
            return f"{self.title}. {self.heading}. {self.text}"
        return f"{self.title}. {self.text}"


def plain_text(markdown: str) -> str:
    """Markdown inline syntax removed: links keep their text, emphasis and code marks go."""
    text = _LINK.sub(r"\1", markdown)
    text = _HTML_TAG.sub("", text)
    for _ in range(2):  # nested **_x_**
        text = _EMPHASIS.sub(r"\2", text)
    return text.strip()


def slugify(text: str) -> str:
    """A URL fragment for a heading, kept readable in every script.

    Lower case, not casefolded: casefolding turns a Greek final sigma into the medial one and
    German ``ß`` into ``ss``, and the fragment is read in the address bar.
    """
    normalized = unicodedata.normalize("NFKC", text).lower()
    # vowel and tone marks (Thai, Devanagari...) are not \w but belong to their word
    kept = "".join(
        ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else "-" for ch in normalized
    )
    return re.sub(r"-{2,}", "-", kept).strip("-")[:80].rstrip("-")


@dataclass
class _Block:
    heading: str
    lines: list[str]
    is_list: bool


def _blocks(body: str, title: str) -> list[_Block]:
    blocks: list[_Block] = []
    heading = title
    current: _Block | None = None
    in_code = False
    for raw in body.splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code:
            heading_match = _HEADING.match(line)
            if heading_match:
                heading = plain_text(heading_match.group(2)) or title
                current = None
                continue
        if not line.strip():
            current = None
            continue
        is_item = bool(_LIST_ITEM.match(line))
        if current is not None and current.is_list and not is_item and raw[:1].isspace():
            current.lines[-1] += " " + line.strip()  # continuation of a list item
            continue
        if current is None or current.is_list != is_item:
            current = _Block(heading, [], is_item)
            blocks.append(current)
        current.lines.append(line.strip())
    return blocks


def _chunks(items: list[str], intro: str) -> list[str]:
    budget = MAX_PASSAGE_CHARS - len(intro)
    groups: list[list[str]] = [[]]
    size = 0
    for item in items:
        if groups[-1] and size + len(item) > budget:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item) + 1
    return ["\n".join(([intro] if intro else []) + group) for group in groups]


def split_article(article: Article) -> list[Passage]:
    """The passages of one article version, in reading order."""
    title = plain_text(article.title)
    pieces: list[tuple[str, str]] = []  # (heading, text)
    intro: tuple[str, str] | None = None
    for block in _blocks(article.body, title):
        lines = [plain_text(line) for line in block.lines]
        lines = [line for line in lines if line]
        if block.is_list:
            items = [_BULLET.sub("", line, count=1) for line in lines]
            lead = ""
            if intro is not None and intro[0] == block.heading:
                lead = intro[1]
                pieces.pop()  # the introduction travels with its list
            pieces.extend((block.heading, chunk) for chunk in _chunks(items, lead))
            intro = None
            continue
        text = " ".join(lines)
        if text == title or not text:
            continue  # the H1 repeated as a paragraph
        pieces.append((block.heading, text))
        intro = (
            (block.heading, text) if text.endswith(":") or len(text) < MIN_PASSAGE_CHARS else None
        )

    merged: list[tuple[str, str]] = []
    for heading, text in pieces:
        if merged and merged[-1][0] == heading and len(merged[-1][1]) < MIN_PASSAGE_CHARS:
            merged[-1] = (heading, f"{merged[-1][1]}\n{text}")
        else:
            merged.append((heading, text))
    if not merged:
        merged = [(title, title)]
    return [
        Passage(
            article_id=article.id,
            language=article.language,
            title=title,
            heading=heading,
            anchor=slugify(heading) if heading != title else "",
            text=text,
            position=position,
        )
        for position, (heading, text) in enumerate(merged)
    ]

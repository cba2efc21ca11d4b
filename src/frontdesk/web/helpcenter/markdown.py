"""Article Markdown to safe HTML: the one renderer of the help center and the admin preview.

Markdown is rendered by markdown-it-py (CommonMark plus tables and strikethrough) with raw HTML
switched off, so ``<script>`` or ``<img onerror>`` typed in an article shows as text. The HTML
is then cleaned by nh3 with an allow-list of tags and attributes (RELIABILITY row 1): links and
images keep only http(s), mailto and relative URLs, so ``javascript:`` and ``data:`` links are
dropped; no ``style``, no event handler, no SVG survives. Headings get the same anchors as the
search passages (:func:`frontdesk.knowledge.passages.slugify`), so a search hit can link to its
section.
"""

from __future__ import annotations

from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from frontdesk.knowledge.passages import plain_text, slugify

__all__ = ["ANCHOR_PREFIX", "render_markdown", "without_title_heading"]

# Heading ids carry a prefix so article text can never clobber an id the page itself uses.
ANCHOR_PREFIX = "s-"

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "dd", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])

    def heading_open(
        renderer: Any, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]
    ) -> str:
        inline = tokens[idx + 1] if idx + 1 < len(tokens) else None
        if inline is not None and inline.type == "inline":
            slug = slugify(plain_text(inline.content))
            if slug:
                seen: dict[str, int] = env.setdefault("anchors", {})
                count = seen.get(slug, 0)
                seen[slug] = count + 1
                tokens[idx].attrSet(
                    "id", ANCHOR_PREFIX + (slug if not count else f"{slug}-{count}")
                )
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("heading_open", heading_open)
    return md


_MD = _parser()


def without_title_heading(body: str, title: str) -> str:
    """The body without a first ``# Title`` line that repeats the title (the page shows it)."""
    lines = body.lstrip("\ufeff\n").split("\n", 1)
    first = lines[0].strip()
    if first.startswith("# ") and " ".join(plain_text(first[2:]).split()) == " ".join(
        plain_text(title).split()
    ):
        return lines[1] if len(lines) > 1 else ""
    return body


def render_markdown(text: str) -> Markup:
    """Sanitised HTML of an article body, safe to insert into any page."""
    html = _MD.render(text or "")
    clean = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704 - cleaned by nh3 just above

"""The email version of a transcript message: a plain-text body and a safe HTML alternative.

Messages are plain text in the transcript (the inbox and the widget show them as text), so the
HTML is built from escaped text: paragraphs, line breaks, and ``http(s)`` URLs made links.
Nothing a customer, an agent or an article wrote can become markup: ``<img onerror>``,
``<style>``, ``<script>`` stay visible text, and ``[x](javascript:…)`` or ``data:`` URLs are
never links (RELIABILITY row 1, outgoing email). The result then goes through nh3 with an
allow-list of tags and URL schemes, so even a bug in the builder cannot let markup through.

A bot answer is laid out from its ``meta["bot"]`` (as the widget does): the lead, the article
title as a link to the help center, the passage, the question; without the widget's Yes/No
buttons (in email the customer simply replies, and the bot's feedback step reads words), and
ending with how to reach a person. An agent's reply is signed with the agent's name.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import nh3

from frontdesk.bot.phrases import phrase
from frontdesk.store.models import Message

__all__ = [
    "EmailBody",
    "absolute_url",
    "bot_meta",
    "render_message",
    "sanitize_html",
    "text_to_html",
]

TAGS = {"a", "br", "p", "strong", "em", "hr"}
ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
# A URL in running text: http(s) only; trailing punctuation is the sentence's, not the URL's.
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
# Footers under the message, by the bot's kind of message (see frontdesk.bot.respond).
BOT_FOOTERS = {"answer": "email_reach_person", "waterfall_email": "email_reply_adds"}


@dataclass(frozen=True)
class EmailBody:
    text: str
    html: str


def bot_meta(message: Message) -> dict[str, Any]:
    """The bot's ``meta["bot"]`` of a message ({} for anything else)."""
    meta = (message.meta or {}).get("bot")
    return meta if isinstance(meta, dict) else {}


def absolute_url(url: str, base_url: str) -> str | None:
    """``url`` as an absolute http(s) URL, or None when it cannot be one (no base URL set)."""
    url = url.strip()
    if re.match(r"^https?://", url, re.IGNORECASE):
        return url
    base = base_url.strip().rstrip("/")
    if url.startswith("/") and re.match(r"^https?://[^/\s]+", base, re.IGNORECASE):
        return base + url
    return None


def _split_url(match: str) -> tuple[str, str]:
    url = match
    while url and url[-1] in _TRAILING:
        # keep a closing bracket that belongs to the URL: .../Foo_(bar)
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url, match[len(url) :]


def _inline(text: str) -> str:
    """One line of text as HTML: escaped, with its http(s) URLs as links."""
    out: list[str] = []
    position = 0
    for found in _URL.finditer(text):
        url, rest = _split_url(found.group(0))
        out.append(html.escape(text[position : found.start()]))
        if url:
            escaped = html.escape(url)
            out.append(f'<a href="{escaped}">{escaped}</a>')
        out.append(html.escape(rest))
        position = found.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs: blank lines separate paragraphs, newlines are ``<br>``."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(_inline(line) for line in p.strip("\n").split("\n")) + "</p>"
        for p in paragraphs
    )


def sanitize_html(fragment: str) -> str:
    """The allow-list pass every outgoing HTML body takes (tags, attributes, URL schemes)."""
    return nh3.clean(
        fragment,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style"},
        strip_comments=True,
    )


def _document(fragment: str, language: str) -> str:
    lang = language if re.fullmatch(r"[a-z]{2,3}", language or "") else "en"
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>\n'
        f"<body>\n{sanitize_html(fragment)}\n</body></html>\n"
    )


def _answer_parts(message: Message, meta: dict[str, Any], base_url: str) -> tuple[str, str] | None:
    """Text and HTML of a bot answer laid out from its meta, or None if the body is not the
    shape the bot writes (then it is sent as plain text)."""
    article = meta.get("article")
    if not isinstance(article, dict):
        return None
    title, url = str(article.get("title") or ""), str(article.get("url") or "")
    lines = message.body.split("\n")
    if not title or title not in lines or not url:
        return None
    at = lines.index(title)
    ask, note = str(meta.get("ask") or ""), str(meta.get("note") or "")
    lead = "\n".join(lines[:at]).strip()
    rest = [line for line in lines[at + 1 :] if line.strip()]
    passage = [line for line in rest if not line.endswith(url) and line not in (ask, note)]
    link = absolute_url(url, base_url)
    text_lines = [lead, "", title, *passage, ""]
    html_parts = [text_to_html(lead)] if lead else []
    if link:
        text_lines.insert(3 + len(passage), link)
        html_parts.append(
            f'<p><a href="{html.escape(link)}"><strong>{_inline(title)}</strong></a></p>'
        )
    else:
        html_parts.append(f"<p><strong>{_inline(title)}</strong></p>")
    html_parts.append(text_to_html("\n".join(passage)))
    if note:
        text_lines += [note, ""]
        html_parts.append(f"<p><em>{_inline(note)}</em></p>")
    if ask:
        text_lines.append(ask)
        html_parts.append(f"<p>{_inline(ask)}</p>")
    text = "\n".join(text_lines).strip()
    return text, "\n".join(p for p in html_parts if p)


def _suggestions(meta: dict[str, Any], base_url: str) -> list[tuple[str, str]]:
    found = []
    for item in meta.get("suggestions") or []:
        if isinstance(item, dict) and item.get("title") and isinstance(item.get("url"), str):
            link = absolute_url(item["url"], base_url)
            if link:
                found.append((str(item["title"]), link))
    return found


def render_message(
    message: Message,
    *,
    language: str,
    base_url: str = "",
    signature: str | None = None,
) -> EmailBody:
    """The email bodies of a customer-visible ``message`` (an agent's or the bot's).

    ``signature`` (the agent's name and the workspace) closes an agent's reply; a bot message
    ends with the footer its kind calls for, in ``language``."""
    meta = bot_meta(message) if message.author_type == "bot" else {}
    kind = str(meta.get("kind") or "")
    laid_out = _answer_parts(message, meta, base_url) if kind == "answer" else None
    if laid_out is not None:
        text, fragment = laid_out
    else:
        text, fragment = message.body.strip(), text_to_html(message.body)
    links = _suggestions(meta, base_url)
    if links:
        text += "\n\n" + "\n".join(f"{title}: {link}" for title, link in links)
        fragment += (
            "\n<p>"
            + "<br>\n".join(
                f'<a href="{html.escape(link)}">{_inline(title)}</a>' for title, link in links
            )
            + "</p>"
        )
    footer_key = BOT_FOOTERS.get(kind)
    if footer_key:
        footer = phrase(language, footer_key)
        text += "\n\n" + footer
        fragment += f"\n<hr>\n<p>{_inline(footer)}</p>"
    if signature:
        text += "\n\n-- \n" + signature
        fragment += f"\n<p>— {_inline(signature)}</p>"
    return EmailBody(text=text.strip() + "\n", html=_document(fragment, language))

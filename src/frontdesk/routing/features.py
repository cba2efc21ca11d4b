"""What the learned router reads of a conversation: its text and a few simple signals.

* :func:`routing_text`: the customer's first message(s), after the subject of an email;
* :func:`signal_features`: a short vector of customer and text signals (VIP, at risk, on trial,
  channel, shouting, exclamation marks, length) for the priority, which the labelling rules tie
  to who the customer is and how they write;
* :func:`embed`: the shipped sentence embeddings of texts, one model after the other,
  concatenated (each part is L2-normalised).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from frontdesk.knowledge.embedders import Embedder

__all__ = [
    "FIRST_MESSAGES",
    "MAX_TEXT_CHARS",
    "SIGNALS",
    "embed",
    "routing_text",
    "signal_features",
]

# The first customer messages are read until there are this many characters (a "hi" alone
# says nothing) or this many messages.
MIN_TEXT_CHARS = 40
FIRST_MESSAGES = 3
MAX_TEXT_CHARS = 1_000

SIGNALS = (
    "vip",
    "at_risk",
    "trial",
    "channel_email",
    "channel_web_form",
    "caps",
    "exclamations",
    "length",
)


def routing_text(messages: Sequence[str], subject: str | None = None) -> str:
    """The text the router classifies: the subject (when not already in the first message) and
    the first customer messages."""
    parts: list[str] = []
    if subject and subject.strip() and (not messages or subject.strip() not in messages[0]):
        parts.append(subject.strip())
    for count, body in enumerate(messages, start=1):
        body = body.strip()
        if body:
            parts.append(body)
        if count >= FIRST_MESSAGES or sum(len(p) for p in parts) >= MIN_TEXT_CHARS:
            break
    return "\n".join(parts)[:MAX_TEXT_CHARS]


def _truthy(value: Any) -> float:
    if isinstance(value, str):
        return 1.0 if value.strip().lower() in ("true", "yes", "1") else 0.0
    return 1.0 if value is True or (isinstance(value, int | float) and value > 0) else 0.0


def signal_features(text: str, channel: str | None, attributes: Mapping[str, Any]) -> list[float]:
    """The :data:`SIGNALS`, in that order."""
    letters = [ch for ch in text if ch.isalpha() and ch.lower() != ch.upper()]
    caps = sum(1 for ch in letters if ch.isupper()) / len(letters) if len(letters) >= 8 else 0.0
    return [
        _truthy(attributes.get("vip")),
        _truthy(attributes.get("at_risk")),
        _truthy(attributes.get("trial")),
        1.0 if channel == "email" else 0.0,
        1.0 if channel == "web_form" else 0.0,
        caps,
        float(min(text.count("!") + text.count("！"), 5)),
        math.log1p(len(text)),
    ]


def embed(embedders: Sequence[Embedder], texts: Sequence[str]) -> np.ndarray[Any, Any]:
    """(texts, sum of the models' dims), float64."""
    if not embedders:
        raise ValueError("the router needs at least one embedder")
    parts = [np.asarray(e.embed_queries(list(texts)), dtype=np.float64) for e in embedders]
    return np.hstack(parts) if parts else np.zeros((len(texts), 0))

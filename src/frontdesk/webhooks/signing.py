"""Webhook signatures: HMAC-SHA256 over ``"{timestamp}.{body}"`` with the endpoint's secret.

Every delivery carries::

    X-Frontdesk-Timestamp: 1767225600
    X-Frontdesk-Signature: v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

A receiver recomputes the HMAC over the exact raw body with :func:`verify_signature`, compares
in constant time, and refuses timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SCHEME = "v1"
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def compute_signature(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """``v1=`` + hex HMAC-SHA256(secret, f"{timestamp}.{body}")."""
    message = str(timestamp).encode() + b"." + _as_bytes(body)
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: str | bytes,
    signature: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> bool:
    """True when ``signature`` (the X-Frontdesk-Signature header, possibly several
    comma-separated ``v1=…`` values) signs ``body`` at ``timestamp``, and ``timestamp`` is
    within ``tolerance`` seconds of now."""
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        return False
    expected = compute_signature(secret, ts, body)
    candidates = [part.strip() for part in (signature or "").split(",")]
    return any(
        hmac.compare_digest(expected.encode(), candidate.encode())
        for candidate in candidates
        if candidate.startswith(f"{SCHEME}=")
    )

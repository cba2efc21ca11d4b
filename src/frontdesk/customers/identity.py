"""Identity of widget visitors.

* An anonymous visitor gets a random visitor token (kept in the browser's localStorage); only
  its SHA-256 is stored, so a database leak does not let anyone impersonate visitors.
* A logged-in user of the company's site is identified by ``user_id`` plus
  ``user_hash = HMAC-SHA256(identity_secret, user_id)`` in hex, computed by the company's
  server: the identity-verification convention of Intercom and Chatwoot.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_visitor_token() -> str:
    return "v_" + secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_user_hash(secret: str, user_id: str, given: str | None) -> bool:
    if not given or not secret:
        return False
    return hmac.compare_digest(user_hash(secret, user_id), given.strip().lower())

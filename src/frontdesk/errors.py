"""Errors a user can act on. The web layer turns each into one JSON shape:

{"error": {"code": "not_found", "message": "Conversation 12 was not found.", "details": []}}
"""

from __future__ import annotations

from typing import Any


class FrontdeskError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(FrontdeskError):
    status = 422
    code = "invalid_input"


class NotFound(FrontdeskError):
    status = 404
    code = "not_found"


class Unauthorized(FrontdeskError):
    status = 401
    code = "unauthorized"


class Forbidden(FrontdeskError):
    status = 403
    code = "forbidden"


class Conflict(FrontdeskError):
    status = 409
    code = "conflict"


class RateLimited(FrontdeskError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after

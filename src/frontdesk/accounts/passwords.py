"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from frontdesk.errors import InvalidInput

_hasher = PasswordHasher()
# Verifying against this when the email is unknown makes both cases take the same time.
_DUMMY = _hasher.hash("frontdesk-timing-equaliser")

MIN_LENGTH = 10


def check_password_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"The password needs at least {MIN_LENGTH} characters.")
    if len(password) > 1024:
        raise InvalidInput("The password is longer than 1024 characters.")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False

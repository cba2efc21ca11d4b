"""Password hashing: the production cost (the suite hashes at a lower one, tests/conftest.py)."""

from __future__ import annotations

import pytest

from frontdesk.accounts import passwords
from frontdesk.errors import InvalidInput


def test_production_hashes_are_argon2id_at_its_recommended_cost() -> None:
    # _DUMMY was hashed at import, with the hasher the product uses
    assert passwords._DUMMY.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_at_another_cost_still_verifies() -> None:
    # each hash carries its parameters: the production-cost one verifies under the suite's
    assert passwords.verify_password(passwords._DUMMY, "frontdesk-timing-equaliser")
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse battery!")
    assert not passwords.verify_password(None, "correct horse battery")
    assert not passwords.verify_password("not a hash", "correct horse battery")


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_weak_or_huge_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        passwords.hash_password(password)

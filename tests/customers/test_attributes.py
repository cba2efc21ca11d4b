from __future__ import annotations

import pytest

from frontdesk.customers.attributes import clean_attributes
from frontdesk.customers.identity import user_hash, verify_user_hash
from frontdesk.errors import InvalidInput


def test_known_attributes_are_typed_and_custom_keys_allowed() -> None:
    merged = clean_attributes(
        {
            "plan": "pro",
            "signup_date": "2024-05-31T10:00:00Z",
            "spend": 1200.5,
            "vip": True,
            "products": ["battery"],
            "favourite_colour": "teal",
        },
        {"trial": True},
    )
    assert merged["signup_date"] == "2024-05-31"
    assert merged["trial"] is True and merged["favourite_colour"] == "teal"


def test_null_removes_a_key() -> None:
    assert clean_attributes({"vip": None}, {"vip": True, "plan": "basic"}) == {"plan": "basic"}


@pytest.mark.parametrize(
    "values",
    [
        {"vip": "yes"},
        {"spend": True},
        {"signup_date": "yesterday"},
        {"products": "battery"},
        {"Bad Key": 1},
        {"nested": {"a": 1}},
        {"x": "a" * 1001},
    ],
)
def test_bad_attributes_are_rejected(values: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        clean_attributes(values, {})


def test_user_hash_verification_is_exact() -> None:
    secret = "s3cret"
    good = user_hash(secret, "user-42")
    assert verify_user_hash(secret, "user-42", good)
    assert verify_user_hash(secret, "user-42", good.upper())
    assert not verify_user_hash(secret, "user-43", good)
    assert not verify_user_hash(secret, "user-42", None)
    assert not verify_user_hash(secret, "user-42", "")
    assert not verify_user_hash("", "user-42", good)

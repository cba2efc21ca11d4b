"""Customer attributes: the well-known ones with their types, plus any custom key."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from frontdesk.errors import InvalidInput

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_KEYS = 100
MAX_STRING = 1000

# Attributes routing, guardrails and reports understand, with the type each must have.
KNOWN: dict[str, str] = {
    "plan": "string",
    "company_type": "string",
    "signup_date": "date",
    "spend": "number",
    "trial": "boolean",
    "vip": "boolean",
    "at_risk": "boolean",
    "products": "string_list",
}


def _check_value(key: str, value: Any) -> Any:
    kind = KNOWN.get(key)
    if value is None:
        return None
    if kind == "date":
        if not isinstance(value, str):
            raise InvalidInput(f"Attribute {key!r} must be a date such as 2024-05-31.")
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            raise InvalidInput(f"Attribute {key!r} must be a date such as 2024-05-31.") from None
    if kind == "boolean" and not isinstance(value, bool):
        raise InvalidInput(f"Attribute {key!r} must be true or false.")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput(f"Attribute {key!r} must be a number.")
    if kind == "string" and not isinstance(value, str):
        raise InvalidInput(f"Attribute {key!r} must be a string.")
    if kind == "string_list" and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise InvalidInput(f"Attribute {key!r} must be a list of strings.")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise InvalidInput(f"Attribute {key!r} is longer than {MAX_STRING} characters.")
    if isinstance(value, list):
        if len(value) > 100 or not all(
            isinstance(v, str | int | float | bool) and not isinstance(v, dict) for v in value
        ):
            raise InvalidInput(f"Attribute {key!r}: a list holds at most 100 plain values.")
        return value
    if not isinstance(value, str | int | float | bool):
        raise InvalidInput(
            f"Attribute {key!r} must be a string, number, boolean, date or list, not an object."
        )
    return value


def clean_attributes(values: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into ``existing``; a ``None`` value removes the key."""
    if not isinstance(values, dict):
        raise InvalidInput("Attributes must be an object of key: value.")
    merged = dict(existing)
    for key, value in values.items():
        if not isinstance(key, str) or not KEY.match(key):
            raise InvalidInput(
                f"Attribute name {key!r} is not allowed: use lowercase letters, digits and _ "
                "(at most 64), starting with a letter."
            )
        clean = _check_value(key, value)
        if clean is None:
            merged.pop(key, None)
        else:
            merged[key] = clean
    if len(merged) > MAX_KEYS:
        raise InvalidInput(f"A customer has at most {MAX_KEYS} attributes.")
    return merged

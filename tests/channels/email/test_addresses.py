"""Reply-to tags, Message-IDs and address normalisation of the email channel."""

from __future__ import annotations

import pytest

from frontdesk.channels.email.addresses import (
    clean_message_id,
    client_id_for,
    message_id_list,
    new_message_id,
    normalize_address,
    parse_recipient,
    recipients,
    reply_address,
)

SECRET = "test-secret"


def test_reply_address_round_trips_to_its_conversation() -> None:
    address = reply_address("Support@Acme.Example", 42, SECRET)
    assert address.startswith("support+c42-") and address.endswith("@acme.example")
    parsed = parse_recipient(address, SECRET)
    assert (parsed.address, parsed.conversation_id, parsed.tag_invalid) == (
        "support@acme.example",
        42,
        False,
    )


@pytest.mark.parametrize(
    "forge",
    [
        lambda a: a.replace("+c42-", "+c43-"),  # another conversation, same signature
        lambda a: (
            a[: a.index("@") - 1] + ("a" if a[a.index("@") - 1] != "a" else "b") + a[a.index("@") :]
        ),
    ],
)
def test_a_forged_tag_names_no_conversation(forge: object) -> None:
    address = reply_address("support@acme.example", 42, SECRET)
    forged = forge(address)  # type: ignore[operator]
    parsed = parse_recipient(forged, SECRET)
    assert parsed.address == "support@acme.example"
    assert parsed.conversation_id is None and parsed.tag_invalid


def test_another_secret_does_not_verify() -> None:
    address = reply_address("support@acme.example", 7, SECRET)
    assert parse_recipient(address, "other-secret").conversation_id is None


def test_plain_and_subaddressed_support_addresses() -> None:
    assert parse_recipient("Support <support@acme.example>", SECRET).address == (
        "support@acme.example"
    )
    tagged = parse_recipient("support+billing@acme.example", SECRET)
    assert (tagged.address, tagged.conversation_id, tagged.tag_invalid) == (
        "support@acme.example",
        None,
        False,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana <Ana@Example.COM> ", "ana@example.com"),
        ("ana@example.com", "ana@example.com"),
        ("not an address", ""),
        ("<>", ""),
        ("a@b@c", ""),
        ("", ""),
        ("ana@exa mple.com", ""),
    ],
)
def test_normalize_address(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


def test_message_ids() -> None:
    mid = new_message_id("acme.example")
    assert mid.startswith("<") and mid.endswith("@acme.example>")
    assert clean_message_id(f"  {mid}\r\n ") == mid[1:-1]
    assert clean_message_id(None) is None and clean_message_id("  ") is None
    assert message_id_list("<a@x> <b@y>\r\n <c@z>") == ["a@x", "b@y", "c@z"]
    assert message_id_list("bare@id") == ["bare@id"]
    assert message_id_list(None) == []


def test_client_id_is_stable_and_fits_the_column() -> None:
    one = client_id_for("abc@x")
    assert one == client_id_for("abc@x") != client_id_for("abd@x")
    assert len(one) <= 64 and one.startswith("mid:")
    assert len(client_id_for("x" * 900 + "@y")) <= 64


def test_recipients_are_normalised_and_unique() -> None:
    assert recipients(["Ana <ANA@x.example>, bo@y.example", "ana@x.example"]) == [
        "ana@x.example",
        "bo@y.example",
    ]

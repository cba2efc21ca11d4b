from __future__ import annotations

import hashlib
import hmac
import time

from frontdesk.webhooks.signing import compute_signature, new_secret, verify_signature

SECRET = "whsec_test"
BODY = b'{"id":"d-1","type":"message_received"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert compute_signature(SECRET, 1700000000, BODY) == f"v1={expected}"
    assert compute_signature(SECRET, "1700000000", BODY.decode()) == f"v1={expected}"


def test_verify_accepts_a_fresh_correct_signature() -> None:
    ts = int(time.time())
    assert verify_signature(SECRET, ts, BODY, compute_signature(SECRET, ts, BODY))
    assert verify_signature(SECRET, str(ts), BODY.decode(), compute_signature(SECRET, ts, BODY))


def test_verify_accepts_any_of_several_signatures() -> None:
    ts = int(time.time())
    header = f"v1={'0' * 64}, {compute_signature(SECRET, ts, BODY)}"
    assert verify_signature(SECRET, ts, BODY, header)


def test_verify_refuses_wrong_secret_body_or_timestamp() -> None:
    ts = int(time.time())
    good = compute_signature(SECRET, ts, BODY)
    assert not verify_signature("whsec_other", ts, BODY, good)
    assert not verify_signature(SECRET, ts, BODY + b" ", good)
    assert not verify_signature(SECRET, ts + 1, BODY, good)
    assert not verify_signature(SECRET, ts, BODY, good.replace("v1=", "v0="))
    assert not verify_signature(SECRET, ts, BODY, "")
    assert not verify_signature(SECRET, "not-a-number", BODY, good)


def test_verify_refuses_replays_outside_the_tolerance() -> None:
    ts = 1_700_000_000
    sig = compute_signature(SECRET, ts, BODY)
    assert verify_signature(SECRET, ts, BODY, sig, now=ts + 299)
    assert not verify_signature(SECRET, ts, BODY, sig, now=ts + 301)
    assert not verify_signature(SECRET, ts, BODY, sig, now=ts - 301)  # from the future
    assert verify_signature(SECRET, ts, BODY, sig, tolerance=600, now=ts + 500)


def test_secrets_are_random_and_long() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) > 40

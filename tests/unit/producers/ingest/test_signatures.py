"""The vendors' signature schemes, recomputed here from their documentation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from producers.ingest import RequestRefusedError
from producers.ingest.webhooks.signatures import (
    stripe_signature,
    verify_stripe,
    verify_zendesk,
    zendesk_signature,
)

BODY = b'{"id": "evt_1", "type": "invoice.paid"}'
SECRET = "whsec_test_secret"
NOW = 1_767_225_600


def _stripe_v1(secret: str, timestamp: int, body: bytes) -> str:
    """Stripe's docs: HMAC-SHA256 of "<t>.<payload>", hex, under the whole secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_stripe_signature_is_the_documented_one() -> None:
    assert stripe_signature(SECRET, BODY, NOW) == f"t={NOW},v1={_stripe_v1(SECRET, NOW, BODY)}"


def _stripe(header: str, *, now: float = NOW, body: bytes = BODY) -> None:
    verify_stripe({"Stripe-Signature": header}, body, secret=SECRET, now=now, tolerance=300)


def test_stripe_accepts_any_v1_of_a_secret_roll_and_ignores_v0() -> None:
    good = _stripe_v1(SECRET, NOW, BODY)
    _stripe(f"t={NOW},v1={good}")
    _stripe(f"t={NOW},v1={_stripe_v1('whsec_old', NOW, BODY)},v1={good},v0=abc")


@pytest.mark.parametrize(
    ("header", "now", "body"),
    [
        ("", NOW, BODY),
        (f"t={NOW}", NOW, BODY),
        (f"v1={_stripe_v1(SECRET, NOW, BODY)}", NOW, BODY),
        (f"t={NOW},v1={_stripe_v1('whsec_other', NOW, BODY)}", NOW, BODY),
        (f"t={NOW},v1={_stripe_v1(SECRET, NOW, BODY)}", NOW, BODY + b" "),  # body changed
        (f"t={NOW + 1},v1={_stripe_v1(SECRET, NOW, BODY)}", NOW, BODY),  # time changed
        (f"t={NOW},v1={_stripe_v1(SECRET, NOW, BODY)}", NOW + 301, BODY),  # a replay
        (f"t=abc,v1={_stripe_v1(SECRET, NOW, BODY)}", NOW, BODY),
    ],
)
def test_stripe_refuses_what_it_did_not_sign_now(header: str, now: float, body: bytes) -> None:
    with pytest.raises(RequestRefusedError) as info:
        _stripe(header, now=now, body=body)
    assert (info.value.status, info.value.code) == (401, "bad_signature")


STAMP = "2026-01-01T00:00:00Z"


def _zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's docs: base64 of HMAC-SHA256 of timestamp + body under the signing secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _zendesk(signature: str, timestamp: str = STAMP, *, now: float = NOW) -> None:
    headers = {
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }
    verify_zendesk(headers, BODY, secret=SECRET, now=now, tolerance=300)


def test_zendesk_signature_is_the_documented_one() -> None:
    assert zendesk_signature(SECRET, BODY, STAMP) == _zendesk_signature(SECRET, STAMP, BODY)
    _zendesk(_zendesk_signature(SECRET, STAMP, BODY))


@pytest.mark.parametrize(
    ("signature", "timestamp", "now"),
    [
        ("", STAMP, NOW),
        (_zendesk_signature(SECRET, STAMP, BODY), "", NOW),
        (_zendesk_signature("other", STAMP, BODY), STAMP, NOW),
        (_zendesk_signature(SECRET, STAMP, BODY), "2026-01-01T00:00:01Z", NOW),
        (_zendesk_signature(SECRET, STAMP, BODY), STAMP, NOW + 301),
        (_zendesk_signature(SECRET, "yesterday", BODY), "yesterday", NOW),
    ],
)
def test_zendesk_refuses_what_it_did_not_sign_now(
    signature: str, timestamp: str, now: float
) -> None:
    with pytest.raises(RequestRefusedError) as info:
        _zendesk(signature, timestamp, now=now)
    assert info.value.status == 401

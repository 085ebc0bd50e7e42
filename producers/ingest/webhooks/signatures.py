"""The vendors' documented webhook signature schemes, checked in constant time. Pure.

- Stripe: ``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=...]``, each ``v1`` the hex
  HMAC-SHA256 of ``"<t>.<raw body>"`` under the endpoint's signing secret (``whsec_...``, used
  whole as the key); several ``v1`` during a secret roll.
- Zendesk: ``X-Zendesk-Webhook-Signature`` is the base64 HMAC-SHA256 of
  ``<X-Zendesk-Webhook-Signature-Timestamp><raw body>`` under the webhook's signing secret.

Both refuse a timestamp further than ``tolerance`` seconds from the clock (replays).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from producers.ingest.exceptions import RequestRefusedError


def _refused(message: str) -> RequestRefusedError:
    return RequestRefusedError(401, "bad_signature", message)


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _fresh(timestamp: float, now: float, tolerance: float) -> None:
    if abs(now - timestamp) > tolerance:
        raise _refused(f"the signature's timestamp is more than {tolerance:g} s from now")


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe sends for ``body`` at ``timestamp``."""
    digest = _hmac(secret, f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={digest}"


def verify_stripe(
    headers: Mapping[str, str], body: bytes, *, secret: str, now: float, tolerance: float
) -> None:
    """Raises :class:`RequestRefusedError` (401) unless a ``v1`` signs ``body`` at a fresh ``t``."""
    header = headers.get("Stripe-Signature", "")
    items = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in items if key.strip() == "t"]
    signatures = [value.strip() for key, value in items if key.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
        raise _refused("no Stripe-Signature header with t= and v1=")
    timestamp = int(stamps[0])
    expected = _hmac(secret, f"{timestamp}.".encode() + body).hex().encode()
    matches = [hmac.compare_digest(expected, s.encode()) for s in signatures]
    if not any(matches):
        raise _refused("no v1 signature of the Stripe-Signature header matches the body")
    _fresh(timestamp, now, tolerance)


ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"


def zendesk_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The ``X-Zendesk-Webhook-Signature`` Zendesk sends for ``body`` at ``timestamp``."""
    return base64.b64encode(_hmac(secret, timestamp.encode() + body)).decode()


def verify_zendesk(
    headers: Mapping[str, str], body: bytes, *, secret: str, now: float, tolerance: float
) -> None:
    """Raises :class:`RequestRefusedError` (401) unless timestamp + body are signed."""
    signature = headers.get(ZENDESK_SIGNATURE, "")
    timestamp = headers.get(ZENDESK_TIMESTAMP, "")
    if not signature or not timestamp:
        raise _refused(f"no {ZENDESK_SIGNATURE} and {ZENDESK_TIMESTAMP} headers")
    expected = zendesk_signature(secret, body, timestamp).encode()
    if not hmac.compare_digest(expected, signature.strip().encode()):
        raise _refused(f"{ZENDESK_SIGNATURE} does not match the body")
    try:
        sent = datetime.fromisoformat(timestamp)
    except ValueError:
        raise _refused(f"{ZENDESK_TIMESTAMP} is not an ISO 8601 time") from None
    _fresh((sent if sent.tzinfo else sent.replace(tzinfo=UTC)).timestamp(), now, tolerance)

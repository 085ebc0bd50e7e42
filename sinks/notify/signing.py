"""HMAC-SHA256 signatures of webhook bodies (timestamped, so old requests can be refused).

The signed message is ``f"{timestamp}.".encode() + body``; headers carry
``X-KAM-Timestamp: <unix seconds>`` and ``X-KAM-Signature: sha256=<hex digest>``.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-KAM-Signature"
TIMESTAMP_HEADER = "X-KAM-Timestamp"
NOTIFICATION_ID_HEADER = "X-KAM-Notification-Id"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-KAM-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: bytes,
    *,
    timestamp: str,
    signature: str,
    body: bytes,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signature`` is ours for ``body`` and ``timestamp`` is within ``tolerance``."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature)

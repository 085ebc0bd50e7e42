"""A minimal client of ``kam ingest`` for the demo and the benchmark: probes and signed posts.

Standard library only (``urllib``); the answer is returned, never raised, so callers count.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import orjson

from producers.ingest.webhooks.signatures import (
    ZENDESK_SIGNATURE,
    ZENDESK_TIMESTAMP,
    zendesk_signature,
)


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    """Whether ``GET /healthz`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def post_zendesk(
    base_url: str, secret: str, payload: dict[str, Any], timeout: float = 30.0
) -> tuple[int, dict[str, Any]]:
    """POST one trigger body to ``/v1/webhooks/zendesk``, signed as Zendesk signs it."""
    body = orjson.dumps(payload)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    request = urllib.request.Request(
        f"{base_url}/v1/webhooks/zendesk",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            ZENDESK_SIGNATURE: zendesk_signature(secret, body, stamp),
            ZENDESK_TIMESTAMP: stamp,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read() or b"{}")

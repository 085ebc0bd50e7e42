"""What every vendor webhook shares: the account mapping, the verdicts, the interface.

A vendor's payload becomes catalogue events by a pure mapping; each mapped event is then
checked by :func:`producers.ingest.documents.check` (the SDK's validation), and a payload that
maps onto nothing is an :class:`~producers.ingest.documents.Invalid` verdict of failure type
``unmapped``, kept as a dead letter like any other rejection.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from producers.ingest.documents import Invalid, Verdict, check
from producers.ingest.exceptions import IngestConfigError, RequestRefusedError
from schemas import FailureType
from schemas.validation import FieldIssue, Rejection

MAX_EVENT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class AccountMap:
    """Vendor ids -> account ids, per vendor and kind of id (``zendesk.organizations``)."""

    ids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def account(self, kind: str, vendor_id: object) -> str | None:
        if vendor_id is None:
            return None
        return self.ids.get(kind, {}).get(str(vendor_id))


def load_account_map(path: Path | None) -> AccountMap:
    """The TOML file of ``KAM_INGEST_ACCOUNT_MAP_PATH`` (none: an empty mapping)."""
    if path is None:
        return AccountMap()
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IngestConfigError(
            f"cannot read the account mapping {path} (KAM_INGEST_ACCOUNT_MAP_PATH): {exc}"
        ) from exc
    ids: dict[str, dict[str, str]] = {}
    for vendor, kinds in document.items():
        for kind, table in (kinds.items() if isinstance(kinds, dict) else []):
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise IngestConfigError(
                    f"{path}: [{vendor}.{kind}] must map ids onto account id strings"
                )
            ids[f"{vendor}.{kind}"] = {str(key): value for key, value in table.items()}
    return AccountMap(ids)


class Unmapped(Exception):  # noqa: N818  (a verdict, not a failure of the service)
    """The payload maps onto no catalogue event: where (a dotted path) and why."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class Webhook(Protocol):
    """One vendor's endpoint, ``POST /v1/webhooks/<name>``."""

    @property
    def name(self) -> str:
        """The path's last part: ``zendesk``, ``stripe``."""

    @property
    def source_system(self) -> str:
        """What the events' ``source_system`` is."""

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float) -> None:
        """Raises :class:`RequestRefusedError` (401) unless the vendor signed ``body``."""

    def verdicts(self, body: bytes) -> list[Verdict]:
        """The catalogue events (or the dead-letter verdict) of one signed payload."""


def decode_payload(body: bytes) -> dict[str, Any]:
    """A signed body must be a JSON object: otherwise 400 (the vendor's bug, not an event)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRefusedError(400, FailureType.NOT_JSON.value, f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise RequestRefusedError(400, FailureType.NOT_JSON.value, "not a JSON object")
    return payload


def verdict_of(
    body: bytes, source_system: str, mapped: dict[str, Any] | Unmapped
) -> Verdict:
    """The verdict on one mapped event, or the ``unmapped`` dead-letter verdict."""
    if isinstance(mapped, Unmapped):
        issue = FieldIssue(mapped.path, mapped.message)
        return Invalid(0, Rejection(FailureType.UNMAPPED, (issue,)), body)
    verdict = check(
        mapped, index=0, source_system=source_system, max_event_bytes=MAX_EVENT_BYTES
    )
    if isinstance(verdict, Invalid):  # keep the vendor's payload, not our translation of it
        return Invalid(0, verdict.rejection, body, verdict.event_id)
    return verdict


def at(payload: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``data.object.customer``); raises :class:`Unmapped`."""
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or value.get(part) is None:
            raise Unmapped(path, "missing")
        value = value[part]
    return value


def optional(payload: Mapping[str, Any], path: str) -> Any:
    try:
        return at(payload, path)
    except Unmapped:
        return None


def unix_time(value: Any, path: str) -> str:
    """A Unix time (seconds) as the RFC 3339 text the wire format wants."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unmapped(path, "not a Unix time")
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")

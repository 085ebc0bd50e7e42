"""Records of undeliverable notifications (topic ``kam.notifications.undeliverable``).

Its JSON Schema is ``undeliverable.schema.json`` next to this file, for the ClickHouse writer
and non-Python consumers; regenerate it with ``python -m sinks.notify.records``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.alerts import Alert
from sinks.notify.config import ReceiverKind
from sinks.notify.delivery import DeliveryResult

SCHEMA_PATH = Path(__file__).with_name("undeliverable.schema.json")


class SourceOffset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str
    partition: int
    offset: int


class UndeliverableNotification(BaseModel):
    """A notification a receiver refused (``rejected``) or never took (``retries_exhausted``).

    Keyed by ``notification_id`` on the topic; carries the alert states so it can be replayed.
    ``last_error`` names the receiver and HTTP status, never endpoints or secrets.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    notification_id: str
    receiver: str
    receiver_kind: ReceiverKind
    channel: str | None = None
    group_key: str
    reason: Literal["rejected", "retries_exhausted"]
    attempts: int = Field(ge=1)
    last_error: str
    last_status: int | None = None
    alert_keys: list[str]
    dedup_keys: list[str]
    account_ids: list[str]
    alerts: list[Alert]
    sources: list[SourceOffset]
    first_attempt_at: AwareDatetime
    failed_at: AwareDatetime


def undeliverable_record(
    result: DeliveryResult, *, receiver_kind: ReceiverKind
) -> UndeliverableNotification:
    """The record of an undeliverable :class:`DeliveryResult`."""
    if result.outcome not in ("rejected", "retries_exhausted"):
        raise ValueError(f"delivery outcome {result.outcome} is not undeliverable")
    batch = result.batch
    return UndeliverableNotification(
        notification_id=batch.notification_id,
        receiver=result.receiver,
        receiver_kind=receiver_kind,
        channel=batch.channel,
        group_key=batch.group_key,
        reason="rejected" if result.outcome == "rejected" else "retries_exhausted",
        attempts=result.attempts,
        last_error=result.error or result.outcome,
        last_status=result.status,
        alert_keys=[item.alert.alert_key for item in batch.items],
        dedup_keys=[item.dedup_key for item in batch.items],
        account_ids=sorted({item.alert.account_id for item in batch.items}),
        alerts=batch.alerts,
        sources=[SourceOffset(topic=r.topic, partition=r.partition, offset=r.offset)
                 for r in batch.refs],
        first_attempt_at=result.first_attempt_at,
        failed_at=result.finished_at,
    )


def undeliverable_json_schema() -> dict[str, Any]:
    return UndeliverableNotification.model_json_schema()


if __name__ == "__main__":
    SCHEMA_PATH.write_text(json.dumps(undeliverable_json_schema(), indent=2) + "\n")

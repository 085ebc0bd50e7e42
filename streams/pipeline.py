"""The stream worker's pure core: one batch of raw touchpoint messages in, everything to emit out.

No Kafka and no Faust here: the agent in :mod:`streams.app` feeds batches in and sends the
outcome on, so every decision made on the stream is testable with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from schemas import (
    ALERTING_TIERS,
    Alert,
    AlertStatus,
    DeadLetter,
    EnrichedTouchpoint,
    Touchpoint,
    alert_key,
)
from streams.alerting import BadExperience, bad_experience
from streams.enrichment import AccountDirectory
from streams.validation import SourceRecord, ValidationPolicy, validate_record

Detector = Callable[[Touchpoint], BadExperience | None]


@dataclass(slots=True)
class BatchOutcome:
    """What one batch produces, in input order."""

    enriched: list[EnrichedTouchpoint] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class TouchpointProcessor:
    """Validates, enriches and checks touchpoints for bad experiences, a batch at a time."""

    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        policy: ValidationPolicy,
        detect: Detector = bad_experience,
    ) -> None:
        self._accounts = accounts
        self._policy = policy
        self._detect = detect

    def process(self, records: Sequence[SourceRecord], *, now: datetime) -> BatchOutcome:
        outcome = BatchOutcome()
        for record in records:
            result = validate_record(record, now=now, policy=self._policy)
            if isinstance(result, DeadLetter):
                outcome.dead_letters.append(result)
                continue
            context = self._accounts.context(result.account_id)
            bad = self._detect(result)
            outcome.enriched.append(
                EnrichedTouchpoint(
                    event=result,
                    account=context,
                    bad_experience=bad.summary if bad else None,
                    processed_at=now,
                )
            )
            if bad is not None and context.tier in ALERTING_TIERS:
                outcome.alerts.append(
                    Alert(
                        alert_key=alert_key(result.account_id, result.contact_point, bad.rule),
                        account_id=result.account_id,
                        account_name=context.name,
                        tier=context.tier,
                        kam_owner=context.kam_owner,
                        kam_team=context.kam_team,
                        contact_point=result.contact_point,
                        rule=bad.rule,
                        severity=bad.severity,
                        status=AlertStatus.FIRING,
                        summary=bad.summary,
                        evidence=bad.evidence,
                        event_ids=[result.event_id],
                        started_at=result.occurred_at,
                        updated_at=now,
                    )
                )
        return outcome

"""``kam simulate``: publish the simulator's accounts and events at a target rate, bounded."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kam.settings import KafkaSettings, TopicSettings
from producers.exceptions import SimulationConfigError
from producers.publisher import PublisherOptions, TouchpointPublisher
from producers.scenarios import AccountBehaviour, TierService
from producers.simulator import (
    DEFAULT_CONTACT_POINT_MIX,
    DEFAULT_EVENT_MIX,
    SimulationConfig,
    simulate_messages,
    simulated_accounts,
)
from schemas import ContactPoint

UNTHROTTLED_GAP_SECONDS = 0.01
"""Mean simulated time between events of an unthrottled run (100 events per simulated s)."""


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """What a run published, and how fast (``elapsed_seconds`` includes the final flush)."""

    accounts: int
    events: int
    bad_experiences: int
    invalid: int
    failed: int
    elapsed_seconds: float
    target_rate: float | None

    @property
    def sent(self) -> int:
        """Touchpoint records sent: valid events plus invalid messages."""
        return self.events + self.invalid

    @property
    def achieved_rate(self) -> float:
        """Touchpoint records per second actually achieved."""
        return self.sent / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def summary(self) -> str:
        target = f"{self.target_rate:g}/s" if self.target_rate else "unthrottled"
        return (
            f"{self.accounts} accounts, {self.events} events ({self.bad_experiences} bad "
            f"experiences), {self.invalid} invalid, {self.failed} failed deliveries in "
            f"{self.elapsed_seconds:.2f}s: {self.achieved_rate:.0f} records/s (target {target})"
        )


def pacing_delay(sent: int, *, rate: float | None, elapsed: float) -> float:
    """Seconds to wait before sending record number ``sent`` (0-based) to hold ``rate``/s."""
    if not rate:
        return 0.0
    return max(0.0, sent / rate - elapsed)


def _default_start(events: int | None, rate: float | None, duration: float | None,
                   mean_gap: float) -> datetime:
    """A start that puts the last simulated event about now, when the count is known."""
    expected = events if events is not None else (rate or 0.0) * (duration or 0.0)
    return datetime.now(UTC) - timedelta(seconds=expected * mean_gap)


def simulate(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    seed: int = 0,
    accounts: int = 50,
    events: int | None = None,
    rate: float | None = 100.0,
    duration: float | None = None,
    bad_probability: float | Mapping[ContactPoint, float] = 0.05,
    invalid_fraction: float = 0.0,
    contact_point_mix: Mapping[ContactPoint, float] | None = None,
    event_mix: Mapping[str, float] | None = None,
    tier_service: TierService | None = None,
    behaviour: Mapping[str, AccountBehaviour] | None = None,
    order_chains: float = 0.0,
    start: datetime | None = None,
    publish_accounts: bool = True,
    options: PublisherOptions | None = None,
    flush_timeout: float = 60.0,
) -> SimulationReport:
    """Publish the accounts, then events until ``events`` were sent or ``duration`` s passed.

    ``rate`` (records/s, ``None`` for as fast as possible, then ``events`` is required) also
    sets the simulated clock, so event times advance like the wall clock; by default
    (``start=None``) they end about now, inside the pipeline's clock-skew tolerance. The
    mixes default to :data:`DEFAULT_CONTACT_POINT_MIX` and :data:`DEFAULT_EVENT_MIX`;
    ``tier_service``, ``behaviour`` and ``order_chains`` as in :class:`SimulationConfig`.
    """
    if events is None and duration is None:
        raise SimulationConfigError("bound the run with a number of events or a duration")
    if not rate and events is None:
        raise SimulationConfigError("an unthrottled run needs a number of events")
    mean_gap = 1 / rate if rate else UNTHROTTLED_GAP_SECONDS
    config = SimulationConfig(
        seed=seed,
        accounts=accounts,
        start=start or _default_start(events, rate, duration, mean_gap),
        mean_gap_seconds=mean_gap,
        bad_probability=bad_probability,
        invalid_fraction=invalid_fraction,
        contact_point_mix=contact_point_mix or DEFAULT_CONTACT_POINT_MIX,
        event_mix=event_mix or DEFAULT_EVENT_MIX,
        tier_service=tier_service,
        behaviour=behaviour or {},
        order_chains=order_chains,
    )
    sent = bad = invalid = 0
    with TouchpointPublisher(kafka=kafka, topics=topics, options=options) as publisher:
        master_data = simulated_accounts(config) if publish_accounts else []
        for account in master_data:
            publisher.publish_account(account)
        began = time.monotonic()
        for message in simulate_messages(config):
            elapsed = time.monotonic() - began
            if (events is not None and sent >= events) or (
                duration is not None and elapsed >= duration
            ):
                break
            delay = pacing_delay(sent, rate=rate, elapsed=elapsed)
            if delay > 0.001:
                time.sleep(delay)
            if message.event is None:
                publisher.publish_raw(key=message.key, value=message.value)
                invalid += 1
            else:
                publisher.publish(message.event)
                bad += message.rule is not None
            sent += 1
        failures = publisher.flush(flush_timeout)
        elapsed = time.monotonic() - began
    return SimulationReport(
        accounts=len(master_data),
        events=sent - invalid,
        bad_experiences=bad,
        invalid=invalid,
        failed=len(failures),
        elapsed_seconds=elapsed,
        target_rate=rate,
    )

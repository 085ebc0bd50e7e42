"""Pure rolling-KPI engine: per (account, contact point) event-time buckets, snapshots over
windows, and the 0-100 experience score. No Kafka, no asyncio: the Faust worker calls it."""

from streams.kpis.batch import (
    BatchResult,
    StateKey,
    account_snapshots,
    apply_batch,
    apply_batch_encoded,
    state_key,
)
from streams.kpis.catalogue import KPI_NAMES
from streams.kpis.codec import STATE_SCHEMA_VERSION
from streams.kpis.config import (
    BucketTier,
    KpiConfig,
    KpiScoring,
    ScoreConfig,
    SlaTarget,
    load_kpi_config,
)
from streams.kpis.exceptions import KpiError, StateDecodeError, StateMismatchError
from streams.kpis.records import KpiRecord, health_records, kpi_records
from streams.kpis.score import AccountHealth, Band, score_account, score_contact_point
from streams.kpis.spec import Kpis
from streams.kpis.state import ApplyOutcome, ContactPointState

__all__ = [
    "KPI_NAMES",
    "STATE_SCHEMA_VERSION",
    "AccountHealth",
    "ApplyOutcome",
    "Band",
    "BatchResult",
    "BucketTier",
    "ContactPointState",
    "KpiConfig",
    "KpiError",
    "KpiRecord",
    "KpiScoring",
    "Kpis",
    "ScoreConfig",
    "SlaTarget",
    "StateDecodeError",
    "StateKey",
    "StateMismatchError",
    "account_snapshots",
    "apply_batch",
    "apply_batch_encoded",
    "health_records",
    "kpi_records",
    "load_kpi_config",
    "score_account",
    "score_contact_point",
    "state_key",
]

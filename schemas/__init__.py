"""Pure data: the pydantic models every KAM Pulse component exchanges. No I/O here."""

from schemas.accounts import ALERTING_TIERS, Account, AccountTier
from schemas.alerts import Alert, AlertStatus, Severity, alert_key
from schemas.enriched import AccountContext, EnrichedTouchpoint
from schemas.failures import DeadLetter, FailureType
from schemas.kpis import KpiUpdate
from schemas.touchpoints import (
    EVENT_TYPES,
    SUPPORTED_SCHEMA_VERSIONS,
    TOUCHPOINT_ADAPTER,
    ContactPoint,
    Priority,
    Touchpoint,
    TouchpointBase,
    contact_point_of,
    parse_touchpoint,
)

__all__ = [
    "ALERTING_TIERS",
    "EVENT_TYPES",
    "SUPPORTED_SCHEMA_VERSIONS",
    "TOUCHPOINT_ADAPTER",
    "Account",
    "AccountContext",
    "AccountTier",
    "Alert",
    "AlertStatus",
    "ContactPoint",
    "DeadLetter",
    "EnrichedTouchpoint",
    "FailureType",
    "KpiUpdate",
    "Priority",
    "Severity",
    "Touchpoint",
    "TouchpointBase",
    "alert_key",
    "contact_point_of",
    "parse_touchpoint",
]

"""The alert engine: bad-experience rules, KPI rules and the alert lifecycle. Pure, no I/O."""

from streams.alerting.book import AlertBook
from streams.alerting.chains import IncidentChains
from streams.alerting.config import (
    AlertRulesConfig,
    ChainRules,
    EventRules,
    LifecycleRules,
    TierRules,
    load_alert_rules,
    parse_alert_rules,
)
from streams.alerting.events import BadExperience, bad_experience, bad_experiences
from streams.alerting.exceptions import AlertingError, AlertRulesError, AlertStateError
from streams.alerting.kpi_rules import KpiSnapshot

__all__ = [
    "AlertBook",
    "AlertRulesConfig",
    "AlertRulesError",
    "AlertStateError",
    "AlertingError",
    "BadExperience",
    "ChainRules",
    "EventRules",
    "IncidentChains",
    "KpiSnapshot",
    "LifecycleRules",
    "TierRules",
    "bad_experience",
    "bad_experiences",
    "load_alert_rules",
    "parse_alert_rules",
]

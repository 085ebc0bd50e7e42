"""The alert engine: bad-experience rules, KPI rules and the alert lifecycle. Pure, no I/O."""

from streams.alerting.config import (
    AlertRulesConfig,
    EventRules,
    LifecycleRules,
    TierRules,
    load_alert_rules,
    parse_alert_rules,
)
from streams.alerting.events import BadExperience, bad_experience, bad_experiences
from streams.alerting.exceptions import AlertingError, AlertRulesError, AlertStateError

__all__ = [
    "AlertRulesConfig",
    "AlertRulesError",
    "AlertStateError",
    "AlertingError",
    "BadExperience",
    "EventRules",
    "LifecycleRules",
    "TierRules",
    "bad_experience",
    "bad_experiences",
    "load_alert_rules",
    "parse_alert_rules",
]

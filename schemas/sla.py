"""Support service levels per ticket priority: the one default every component starts from."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from schemas.touchpoints import Priority

SUPPORT_SLA_MINUTES: Mapping[Priority, tuple[int, int]] = MappingProxyType(
    {
        Priority.URGENT: (10, 120),
        Priority.HIGH: (60, 480),
        Priority.NORMAL: (240, 1440),
        Priority.LOW: (480, 4320),
    }
)
"""(first response, resolution) targets in minutes from the ticket's opening (Zendesk-style:
urgent = reply in 10 min, resolve in 2 h). ``config/alert_rules.toml`` may override them; the
worker then uses the configured table for both the alert rules and the SLA-attainment KPI."""

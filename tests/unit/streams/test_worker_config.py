"""The worker measures SLA attainment against the SLA table its alert rules enforce."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from schemas import Priority
from streams.alerting import load_alert_rules, parse_alert_rules
from streams.kpis import KpiConfig
from streams.worker import with_support_sla

RULES = Path(__file__).resolve().parents[3] / "config" / "alert_rules.toml"


def test_shipped_rules_and_kpi_defaults_agree() -> None:
    assert with_support_sla(KpiConfig(), load_alert_rules(RULES)).sla == KpiConfig().sla


def test_a_configured_sla_reaches_the_kpis() -> None:
    text = re.sub(
        r"(\[events\.sla\.urgent\]\nfirst_response_minutes = )10", r"\g<1>5", RULES.read_text()
    )
    kpis = with_support_sla(KpiConfig(), parse_alert_rules(text))
    assert kpis.sla[Priority.URGENT].first_response == timedelta(minutes=5)
    assert kpis.sla[Priority.HIGH].first_response == timedelta(hours=1)

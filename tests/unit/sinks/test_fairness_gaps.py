"""The treatment-gap core: signed gaps, the rules and the alert lifecycle, exact values."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from schemas import AccountTier, Alert, AlertStatus, Severity
from sinks.fairness import (
    FairnessConfigError,
    GapRule,
    TierValues,
    evaluate,
    load_fairness_config,
    metrics,
    relative_gap,
    treatment_gap,
)
from sinks.fairness.config import TreatmentGapConfig, parse_fairness_config
from sinks.notify import load_routing_config
from sinks.notify.routing import route_alert
from streams.alerting.kpis import KPIS

S, K, STD = AccountTier.STRATEGIC, AccountTier.KEY, AccountTier.STANDARD
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
KPI = "first_response_minutes_p90"
RULE = GapRule(
    name="support_first_response_p90", contact_point="support", kpi=KPI,
    min_relative_gap=0.10, critical_at_or_below=0.0, hysteresis=0.02, min_accounts=2,
)  # fmt: skip
CONFIG = TreatmentGapConfig(rules=(RULE,))
KEY = "portfolio:support:treatment_gap_support_first_response_p90"
COUNTS = {S: 3, K: 5, STD: 8}


def p90(strategic: float, standard: float, counts: dict[AccountTier, int] = COUNTS) -> TierValues:
    return TierValues("support", "7d", KPI, {S: strategic, K: 380.0, STD: standard}, counts)


def text(strategic: str, served: str) -> str:
    return (
        f"support p90 first response (7d): strategic {strategic} vs standard 400 min (key 380"
        f" min): {served}; the rule wants more than 10.0% better (3 strategic, 5 key, 8 standard"
        " accounts)"
    )


def test_the_gap_is_positive_when_strategic_accounts_are_served_better() -> None:
    assert treatment_gap(KPI, 120.0, 300.0) == 180.0  # lower is better: faster answers
    assert relative_gap(180.0, 300.0) == 0.6
    assert treatment_gap("otif", 0.75, 0.875) == -0.125  # higher is better: worse OTIF
    assert relative_gap(-0.125, 0.875) == pytest.approx(-1 / 7, abs=1e-15)
    assert treatment_gap("worst_of_poor", 1.0, 0.0) is None  # no known good direction
    assert treatment_gap("otif", None, 0.9) is None
    assert relative_gap(0.5, 0.0) is None


def test_a_rule_broken_at_its_critical_level_fires_critical_with_the_numbers() -> None:
    [alert] = evaluate(CONFIG, [p90(400.0, 400.0)], {}, now=NOW)
    assert alert == Alert(
        alert_key=KEY, account_id="portfolio", account_name="Strategic accounts vs standard",
        tier=S, kam_owner=None, kam_team="kam-director", contact_point="support",
        rule="treatment_gap_support_first_response_p90", severity=Severity.CRITICAL,
        status=AlertStatus.FIRING, summary=text("400 min", "strategic served no better"),
        evidence={
            "contact_point": "support", "window": "7d", "kpi": KPI, "strategic": 400.0,
            "key": 380.0, "standard": 400.0, "gap": 0.0, "relative_gap": 0.0,
            "measure": "relative_gap", "minimum": 0.1,
            "accounts": {"strategic": 3, "key": 5, "standard": 8},
        },
        started_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_the_lifecycle_updates_on_severity_repeats_and_resolves_past_the_hysteresis() -> None:
    [fired] = evaluate(CONFIG, [p90(400.0, 400.0)], {}, now=NOW)
    later = NOW + timedelta(hours=1)
    assert evaluate(CONFIG, [p90(400.0, 400.0)], {KEY: fired}, now=later) == []
    [warning] = evaluate(CONFIG, [p90(380.0, 400.0)], {KEY: fired}, now=later)
    assert (warning.status, warning.severity, warning.started_at, warning.updated_at) == (
        AlertStatus.FIRING, Severity.WARNING, NOW, later)  # fmt: skip
    assert warning.summary == text("380 min", "strategic served 5.0% better")
    # 12% better is the minimum plus the hysteresis: not yet recovered; 12.5% is.
    assert evaluate(CONFIG, [p90(352.0, 400.0)], {KEY: warning}, now=later) == []
    [resolved] = evaluate(CONFIG, [p90(350.0, 400.0)], {KEY: warning}, now=later)
    assert (resolved.status, resolved.severity, resolved.started_at) == (
        AlertStatus.RESOLVED, Severity.WARNING, NOW)  # fmt: skip
    assert resolved.summary == "resolved: " + text("350 min", "strategic served 12.5% better")
    [repeat] = evaluate(CONFIG, [p90(400.0, 400.0)], {KEY: fired}, now=NOW + timedelta(hours=24))
    assert (repeat.severity, repeat.started_at, repeat.updated_at) == (
        Severity.CRITICAL, NOW, NOW + timedelta(hours=24))  # fmt: skip
    assert evaluate(CONFIG, [p90(350.0, 400.0)], {KEY: resolved}, now=later) == []
    [again] = evaluate(CONFIG, [p90(420.0, 400.0)], {KEY: resolved}, now=later)
    assert (again.started_at, again.summary) == (
        later, text("420 min", "strategic served 5.0% worse"))  # fmt: skip


def test_without_enough_accounts_or_a_row_a_rule_keeps_its_state() -> None:
    few = p90(500.0, 400.0, {S: 1, K: 5, STD: 8})
    assert evaluate(CONFIG, [few], {}, now=NOW) == []
    [fired] = evaluate(CONFIG, [p90(400.0, 400.0)], {}, now=NOW)
    assert evaluate(CONFIG, [few], {KEY: fired}, now=NOW + timedelta(hours=1)) == []
    assert evaluate(CONFIG, [], {KEY: fired}, now=NOW + timedelta(hours=1)) == []


def test_an_absolute_rule_compares_the_gap_in_kpi_units() -> None:
    rule = GapRule(name="otif", contact_point="logistics", kpi="otif", min_gap=0.0)
    config = TreatmentGapConfig(rules=(rule,))
    row = TierValues("logistics", "7d", "otif", {S: 0.75, K: None, STD: 0.875}, {S: 1, STD: 4})
    [alert] = evaluate(config, [row], {}, now=NOW)
    assert alert.severity is Severity.WARNING
    assert alert.summary == (
        "logistics OTIF (7d): strategic 75.0% vs standard 87.5% (key no data): strategic served"
        " 12.5 percentage points worse; the rule wants more than 0.0 percentage points better"
        " (1 strategic, 0 key, 4 standard accounts)"
    )
    better = TierValues("logistics", "7d", "otif", {S: 0.875, STD: 0.75}, {S: 1, STD: 4})
    assert evaluate(config, [better], {alert.alert_key: alert}, now=NOW)[0].status is (
        AlertStatus.RESOLVED)  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kpi": "otif"}, "'otif' is not a support KPI"),
        ({"min_gap": 1.0}, "set exactly one of min_gap and min_relative_gap"),
        ({"name": "Bad Name"}, "use lowercase letters, digits and _"),
        ({"critical_at_or_below": 0.5}, "critical_at_or_below must not exceed the minimum gap"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(rule: dict[str, object], message: str) -> None:
    good = {"name": "r", "contact_point": "support", "kpi": KPI, "min_relative_gap": 0.1}
    with pytest.raises(FairnessConfigError, match=message):
        parse_fairness_config({"treatment_gap": {"rules": [{**good, **rule}]}})


def test_the_shipped_file_loads_and_every_kpi_it_names_has_a_direction() -> None:
    config = load_fairness_config(Path("config/fairness.toml"))
    assert [r.rule_id for r in config.treatment_gap.rules] == [
        "treatment_gap_support_first_response_p90", "treatment_gap_logistics_otif",
        "treatment_gap_billing_dispute_rate",
    ]  # fmt: skip
    assert all(rule.kpi in KPIS for rule in config.treatment_gap.rules)
    assert config.treatment_gap.alerts.kam_team == "kam-director"
    assert config.review == type(config.review)()  # the file spells out the defaults


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        ("config/routing.toml", [("owner-slack", "#kam-director", "kam-director"),
                                 ("alertmanager", "#kam-director", "kam-director")]),
        ("config/routing-demo.toml", [("account-team-inbox", None, "kam-director"),
                                      ("alertmanager", None, "kam-director")]),
    ],
)  # fmt: skip
def test_gap_alerts_go_to_the_kam_director_route_only(
    routing: str, expected: list[tuple[str, str | None, str]]
) -> None:
    names = re.findall(r'_env = "(\w+)"', Path(routing).read_text())
    config = load_routing_config(Path(routing), env=dict.fromkeys(names, "http://127.0.0.1:1"))
    [alert] = evaluate(CONFIG, [p90(400.0, 400.0)], {}, now=NOW)
    assert [(t.receiver, t.channel, t.route) for t in route_alert(alert, config)] == expected


def test_the_gauges_show_each_gap_and_tier_value() -> None:
    rows = [p90(380.0, 400.0), TierValues("logistics", "7d", "otif", {S: 0.75}, {S: 1})]
    metrics.observe(rows)

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    cell = {"contact_point": "support", "kpi": KPI, "window": "7d"}
    assert sample("kam_treatment_gap", **cell) == 20.0
    assert [sample("kam_treatment_gap_tier_value", **cell, tier=t.value) for t in (S, K, STD)] == [
        380.0, 380.0, 400.0]  # fmt: skip
    otif = {"contact_point": "logistics", "kpi": "otif", "window": "7d"}
    assert math.isnan(sample("kam_treatment_gap", **otif) or 0.0)
    assert math.isnan(sample("kam_treatment_gap_tier_value", **otif, tier="standard") or 0.0)

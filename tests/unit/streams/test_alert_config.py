"""Alert rules configuration: the shipped file, inheritance of event rules, typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kam.errors import KamError
from schemas import AccountTier, Priority, Severity
from streams.alerting import (
    AlertRulesConfig,
    AlertRulesError,
    ChainRules,
    EventRules,
    LifecycleRules,
    load_alert_rules,
    parse_alert_rules,
)
from streams.alerting.kpi_rules import compile_rules

RULES_FILE = Path(__file__).parents[3] / "config" / "alert_rules.toml"


def problems(text: str) -> list[str]:
    with pytest.raises(AlertRulesError) as caught:
        parse_alert_rules(text)
    return caught.value.problems


def test_shipped_file_restates_the_code_defaults_for_events_and_lifecycle() -> None:
    config = load_alert_rules(RULES_FILE)
    assert config.events == EventRules()
    assert config.lifecycle == LifecycleRules()
    assert config.chains == ChainRules()


def test_chain_settings_are_checked() -> None:
    assert problems("[chains]\nmin_contact_points = 1\nwindow_hours = 0\n") == [
        "chains.window_hours: Input should be greater than 0",
        "chains.min_contact_points: Input should be greater than or equal to 2",
    ]


def test_shipped_file_thresholds_per_tier() -> None:
    config = load_alert_rules(RULES_FILE)
    assert set(config.tiers) == {AccountTier.STRATEGIC, AccountTier.KEY}
    strategic = config.tiers[AccountTier.STRATEGIC]
    otif = {rule.rule_id: rule for rule in strategic.thresholds}["otif_below_7d"]
    assert (otif.direction, otif.threshold, otif.critical) == ("below", 0.95, 0.85)
    assert [rule.rule_id for rule in compile_rules(strategic)] == [
        "otif_below_7d",
        "sla_attainment_below_7d",
        "csat_satisfied_rate_below_30d",
        "dispute_rate_above_30d",
        "invoice_accuracy_below_30d",
        "failed_delivery_rate_above_7d",
        "experience_score_below_7d",
        "experience_score_drop_24h_vs_30d",
        "no_executive_contact",
    ]
    assert strategic.silence is not None and strategic.silence.days == 30
    key = config.tiers[AccountTier.KEY]
    assert key.silence is not None and key.silence.days == 60
    assert {rule.rule_id: rule.threshold for rule in key.thresholds}["otif_below_7d"] == 0.90


def test_tier_events_override_single_keys_of_the_global_events() -> None:
    config = parse_alert_rules(
        """
        [events]
        slow_quote_hours = 40
        [events.sla.urgent]
        first_response_minutes = 5
        [tiers.strategic.events]
        slow_order_confirmation_hours = 8
        [tiers.strategic.events.sla.high]
        resolution_minutes = 240
        """
    )
    strategic = config.event_rules_for(AccountTier.STRATEGIC)
    assert (strategic.slow_quote_hours, strategic.slow_order_confirmation_hours) == (40, 8)
    assert strategic.sla[Priority.URGENT].first_response_minutes == 5
    assert strategic.sla[Priority.URGENT].resolution_minutes == 120
    assert strategic.sla[Priority.HIGH].resolution_minutes == 240
    assert strategic.sla[Priority.HIGH].first_response_minutes == 60
    standard = config.event_rules_for(AccountTier.STANDARD)
    assert (standard.slow_quote_hours, standard.slow_order_confirmation_hours) == (40, 24)
    assert config.rules_for(AccountTier.STANDARD) is None
    assert config.rules_for(AccountTier.KEY) is None  # not in the file: never alerts


def test_without_tiers_table_both_alerting_tiers_get_the_global_event_rules() -> None:
    from_file = parse_alert_rules("[events]\nslow_quote_hours = 40")
    in_code = AlertRulesConfig(events=EventRules(slow_quote_hours=40))
    for config in (from_file, in_code):
        assert set(config.tiers) == {AccountTier.STRATEGIC, AccountTier.KEY}
        for tier in (AccountTier.STRATEGIC, AccountTier.KEY):
            assert config.event_rules_for(tier).slow_quote_hours == 40


def test_code_defaults_alert_on_events_only() -> None:
    config = AlertRulesConfig()
    for tier in (AccountTier.STRATEGIC, AccountTier.KEY):
        rules = config.rules_for(tier)
        assert rules is not None and compile_rules(rules) == ()
    assert config.rules_for(AccountTier.UNKNOWN) is None


def test_errors_are_typed_and_located() -> None:
    assert issubclass(AlertRulesError, KamError)
    assert problems("[tiers.strategic\n")[0].startswith("not valid TOML:")
    assert problems(
        '[[tiers.strategic.thresholds]]\nkpi = "otiff"\ndirection = "below"\nthreshold = 0.9'
    ) == ["tiers.strategic.thresholds.0.kpi: Value error, unknown KPI 'otiff'"]
    assert problems("[tiers.standard.silence]\ndays = 30") == [
        "tiers: Value error, tier standard never alerts; remove its rules"
    ]
    assert problems("[lifecycle]\nrepeat_interval_hours = 0") == [
        "lifecycle.repeat_interval_hours: Input should be greater than 0"
    ]
    assert problems("[events]\ndisabled = ['late']")[0].startswith("events.disabled.0:")
    assert problems("[events]\nseverity = { late_delivery = 'loud' }")[0].startswith(
        "events.severity.late_delivery:"
    )
    assert problems("[lifecycle]\nrepeat_hours = 3") == [
        "lifecycle.repeat_hours: Extra inputs are not permitted"
    ]


def test_rule_consistency_errors() -> None:
    otif = '[[tiers.key.thresholds]]\nkpi = "otif"\ndirection = "below"\nthreshold = 0.9\n'
    wrong_side = otif + "critical = 0.95"
    assert problems(wrong_side) == [
        "tiers.key.thresholds.0: Value error, critical must be below threshold"
    ]
    bad_window = otif + 'window = "7days"'
    assert problems(bad_window)[0].startswith("tiers.key.thresholds.0.window: String should match")
    duplicate = '[[tiers.key.thresholds]]\nkpi = "nps"\ndirection = "below"\nthreshold = 0\n' * 2
    assert problems(duplicate) == ["tiers.key: Value error, duplicate KPI rules nps_below"]
    same_window = (
        '[[tiers.key.drops]]\nkpi = "experience_score"\nwindow = "7d"\nbaseline_window = "7d"\n'
        "max_drop = 5"
    )
    assert problems(same_window) == [
        "tiers.key.drops.0: Value error, baseline_window must differ from window"
    ]
    sla = "[events.sla.low]\nfirst_response_minutes = 60\nresolution_minutes = 30"
    inverted = "Value error, resolution_minutes must not be shorter than first_response_minutes"
    assert problems(sla) == [  # the tiers inherit the global table, and say so
        f"events.sla.low: {inverted}",
        f"tiers.key.events.sla.low: {inverted}",
        f"tiers.strategic.events.sla.low: {inverted}",
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(AlertRulesError) as caught:
        load_alert_rules(missing)
    assert caught.value.source == str(missing)
    assert caught.value.problems[0].startswith("cannot read the file:")


def test_severity_override_is_read() -> None:
    config = parse_alert_rules("[events]\nseverity = { return_received = 'info' }")
    assert config.events.severity == {"return_received": Severity.INFO}

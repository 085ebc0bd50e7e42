"""KPI rules: thresholds both ways with hysteresis, drop against the baseline, silence."""

from __future__ import annotations

import pytest

from schemas import AccountTier, Severity
from streams.alerting import parse_alert_rules
from streams.alerting.kpi_rules import KpiRule, Reading, compile_rules, describe, level, measure
from streams.alerting.kpis import KPIS, format_change, format_value

RULES = parse_alert_rules(
    """
    [[tiers.strategic.thresholds]]
    kpi = "otif"
    window = "7d"
    direction = "below"
    threshold = 0.95
    critical = 0.85
    hysteresis = 0.01

    [[tiers.strategic.thresholds]]
    kpi = "dispute_rate"
    window = "30d"
    direction = "above"
    threshold = 0.05
    hysteresis = 0.01

    [[tiers.strategic.drops]]
    kpi = "experience_score"
    window = "24h"
    baseline_window = "30d"
    max_drop = 10
    critical_drop = 25
    hysteresis = 2

    [tiers.strategic.silence]
    days = 30
    critical_days = 60
    """
)
OTIF, DISPUTES, DROP, SILENCE = compile_rules(RULES.tiers[AccountTier.STRATEGIC])


def test_compiled_rules() -> None:
    assert [rule.rule_id for rule in (OTIF, DISPUTES, DROP, SILENCE)] == [
        "otif_below_7d",
        "dispute_rate_above_30d",
        "experience_score_drop_24h_vs_30d",
        "no_executive_contact",
    ]
    assert OTIF.update_delta == KPIS["otif"].material_change == 0.02
    assert (SILENCE.kpi, SILENCE.window, SILENCE.sign) == ("days_since_executive_contact", None, 1)


@pytest.mark.parametrize(
    ("value", "current", "expected"),
    [
        (0.97, None, None),
        (0.95, None, None),  # "below 0.95" is strict
        (0.94, None, Severity.WARNING),
        (0.955, Severity.WARNING, Severity.WARNING),  # inside the hysteresis band: still firing
        (0.965, Severity.WARNING, None),
        (0.84, None, Severity.CRITICAL),
        (0.84, Severity.WARNING, Severity.CRITICAL),
        (0.855, Severity.CRITICAL, Severity.CRITICAL),  # critical until 0.86
        (0.87, Severity.CRITICAL, Severity.WARNING),
    ],
)
def test_below_threshold_with_hysteresis(
    value: float, current: Severity | None, expected: Severity | None
) -> None:
    assert level(OTIF, value, current) is expected


@pytest.mark.parametrize(
    ("value", "current", "expected"),
    [
        (0.05, None, None),
        (0.06, None, Severity.WARNING),
        (0.045, Severity.WARNING, Severity.WARNING),
        (0.035, Severity.WARNING, None),
    ],
)
def test_above_threshold_with_hysteresis(
    value: float, current: Severity | None, expected: Severity | None
) -> None:
    assert level(DISPUTES, value, current) is expected


def test_threshold_reading_and_words() -> None:
    reading = measure(OTIF, {"7d": {"otif": 0.912}, "30d": {"otif": 0.99}})
    assert reading == Reading(
        0.912,
        {
            "kind": "threshold",
            "kpi": "otif",
            "window": "7d",
            "value": 0.912,
            "direction": "below",
            "threshold": 0.95,
            "critical": 0.85,
        },
    )
    assert describe(OTIF, reading, resolved=False) == "OTIF over 7d is 91.2%, below the 95.0% limit"
    back = measure(OTIF, {"7d": {"otif": 0.97}})
    assert back is not None
    assert describe(OTIF, back, resolved=True) == "OTIF over 7d is back at 97.0% (limit 95.0%)"


def test_no_data_is_no_reading() -> None:
    assert measure(OTIF, {"30d": {"otif": 0.5}}) is None
    assert measure(OTIF, {"7d": {"otif": None}}) is None
    assert measure(DROP, {"24h": {"experience_score": 40.0}}) is None
    assert measure(SILENCE, {"7d": {"days_since_executive_contact": None}}) is None


def test_score_drop_against_the_own_baseline() -> None:
    reading = measure(DROP, {"24h": {"experience_score": 48.0}, "30d": {"experience_score": 62.0}})
    assert reading is not None
    assert reading.value == 14.0
    assert reading.evidence == {
        "kind": "drop",
        "kpi": "experience_score",
        "window": "24h",
        "value": 48.0,
        "baseline_window": "30d",
        "baseline": 62.0,
        "drop": 14.0,
        "max_drop": 10.0,
    }
    assert level(DROP, 14.0, None) is Severity.WARNING
    assert level(DROP, 26.0, None) is Severity.CRITICAL
    assert level(DROP, 9.0, Severity.WARNING) is Severity.WARNING  # clears at 8 points
    assert level(DROP, 7.5, Severity.WARNING) is None
    assert level(DROP, -5.0, None) is None  # better than the baseline
    assert describe(DROP, reading, resolved=False) == (
        "Experience score over 24h is 48.0, 14.0 points worse than its 30d baseline of 62.0 "
        "(limit 10.0 points)"
    )
    recovered = measure(
        DROP, {"24h": {"experience_score": 60.0}, "30d": {"experience_score": 62.0}}
    )
    assert recovered is not None
    assert describe(DROP, recovered, resolved=True) == (
        "Experience score over 24h is back at 60.0, within 10.0 points of its 30d baseline of 62.0"
    )


def test_drop_of_a_lower_is_better_kpi_is_a_rise() -> None:
    rule = KpiRule(
        rule_id="delay_drop",
        kind="drop",
        kpi="delivery_delay_hours_avg",
        window="24h",
        baseline_window="30d",
        sign=1.0,
        threshold=2.0,
        critical=None,
        severity=Severity.WARNING,
        hysteresis=0.0,
        update_delta=1.0,
    )
    windows = {"24h": {"delivery_delay_hours_avg": 5.0}, "30d": {"delivery_delay_hours_avg": 1.5}}
    reading = measure(rule, windows)
    assert reading is not None and reading.value == 3.5


def test_silence_reads_any_window() -> None:
    reading = measure(SILENCE, {"30d": {"days_since_executive_contact": 45.0}})
    assert reading is not None and reading.evidence["window"] == "30d"
    assert level(SILENCE, 45.0, None) is Severity.WARNING
    assert level(SILENCE, 61.0, None) is Severity.CRITICAL
    assert level(SILENCE, 30.0, None) is None
    assert describe(SILENCE, reading, resolved=False) == (
        "No executive contact for 45 days (limit 30 days)"
    )
    assert describe(SILENCE, Reading(2.0), resolved=True) == (
        "Executive contact resumed (2 days since the last one)"
    )


@pytest.mark.parametrize(
    ("kpi", "value", "text"),
    [
        ("otif", 0.855, "85.5%"),
        ("delivery_delay_hours_avg", 5.25, "5.2 h"),
        ("first_response_minutes_p90", 42.4, "42 min"),
        ("days_late_avg", 3.0, "3 days"),
        ("nps", -12.0, "-12"),
        ("csat_avg", 3.25, "3.2"),
    ],
)
def test_format_value(kpi: str, value: float, text: str) -> None:
    assert format_value(kpi, value) == text


def test_format_change() -> None:
    assert format_change("otif", 0.031) == "3.1 percentage points"
    assert format_change("experience_score", 12.0) == "12.0 points"
    assert format_change("quote_turnaround_hours_avg", 6.0) == "6.0 h"

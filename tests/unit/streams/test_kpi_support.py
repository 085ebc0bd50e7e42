"""Support KPIs (and the duration histogram behind the percentiles)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.touchpoints import ContactPoint
from streams.kpis import ContactPointState, KpiConfig
from streams.kpis.histogram import MAX_MINUTES, bin_of, percentiles, value_of
from tests.unit.streams.test_kpi_events import at, event, ticket_time

CONFIG = KpiConfig()


def support_state(*events: object) -> ContactPointState:
    state = ContactPointState(contact_point=ContactPoint.SUPPORT, config=CONFIG)
    for item in events:
        assert state.apply(item) == "applied"  # type: ignore[arg-type]
    return state


def test_percentiles_sla_csat_nps_reopen_escalation() -> None:
    replies = [5, 10, 15, 20, 30, 40, 50, 60, 90, 300]  # normal: reply within 240 min
    resolutions = [60, 100, 150]  # urgent: resolve within 120 min
    events = [ticket_time("ticket_first_response", at(hours=20), m) for m in replies]
    events += [ticket_time("ticket_resolved", at(hours=21), m, "urgent") for m in resolutions]
    events += [event("csat_submitted", at(hours=22), score=s) for s in (5, 5, 4, 3, 1)]
    nps_scores = (9, 10, 9, 10, 9, 7, 8, 7, 6, 0)  # 5 promoters, 3 passives, 2 detractors
    events += [event("nps_submitted", at(hours=22), score=s) for s in nps_scores]
    events += [event("ticket_opened", at(hours=1), ticket_id="t", priority="low")] * 4
    events += [event("ticket_escalated", at(hours=2), ticket_id="t")]
    events += [event("ticket_reopened", at(hours=22), ticket_id="t")]

    assert support_state(*events).snapshot(as_of=at(hours=23), window="24h") == {
        "first_response_minutes_p50": 30.0,  # nearest rank ceil(0.5 * 10) = 5th
        "first_response_minutes_p90": 90.0,  # ceil(0.9 * 10) = 9th
        "resolution_minutes_p50": 100.0,  # ceil(0.5 * 3) = 2nd
        "resolution_minutes_p90": 150.0,  # ceil(0.9 * 3) = 3rd
        "sla_attainment": 11 / 13,  # replies 9 of 10 in SLA + resolutions 2 of 3
        "csat_satisfied_rate": 0.6,  # 3 of 5 scored 4-5
        "csat_avg": 3.6,  # 18 / 5
        "nps": 30.0,  # 50% promoters - 20% detractors
        "reopen_rate": 1 / 3,  # 1 reopened / 3 resolved
        "escalation_rate": 0.25,  # 1 escalated / 4 opened
    }


def test_sla_targets_per_priority_are_inclusive() -> None:
    # default table: urgent 10 min / 2 h, high 1 h / 8 h, normal 4 h / 24 h, low 8 h / 72 h
    cases = [
        ("urgent", 10, 11, 120, 121),
        ("high", 60, 61, 480, 481),
        ("normal", 240, 241, 1440, 1441),
        ("low", 480, 481, 4320, 4321),
    ]
    for priority, reply_ok, reply_late, resolve_ok, resolve_late in cases:
        state = support_state(
            ticket_time("ticket_first_response", at(days=4), reply_ok, priority),
            ticket_time("ticket_first_response", at(days=4), reply_late, priority),
            ticket_time("ticket_resolved", at(days=4), resolve_ok, priority),
            ticket_time("ticket_resolved", at(days=4), resolve_late, priority),
        )
        assert state.snapshot(as_of=at(days=4), window="24h")["sla_attainment"] == 0.5


def test_sub_minute_durations_floor_to_the_minute() -> None:
    state = support_state(ticket_time("ticket_first_response", at(hours=1), 9.9, "urgent"))
    snapshot = state.snapshot(as_of=at(hours=1), window="1h")
    assert snapshot["first_response_minutes_p50"] == 9.0
    assert snapshot["sla_attainment"] == 1.0  # SLA is judged on the exact seconds


def test_histogram_bins() -> None:
    assert [value_of(bin_of(m)) for m in (0, 1, 127, 128, 150, 255, 256, 1000, 1007)] == [
        0, 1, 127, 128, 150, 254, 256, 1000, 1000,
    ]  # fmt: skip
    assert percentiles({}, (50, 90)) == [None, None]
    assert percentiles({bin_of(7): 1}, (50, 90)) == [7.0, 7.0]


@given(st.integers(min_value=0, max_value=MAX_MINUTES))
def test_histogram_lower_edge_within_one_64th(minutes: int) -> None:
    edge = value_of(bin_of(minutes))
    assert edge <= minutes
    assert minutes - edge < max(1, minutes / 64)

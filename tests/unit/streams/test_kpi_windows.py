"""Windows, bucket eviction, late events, serialisation and order independence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.touchpoints import ContactPoint
from streams.kpis import BucketTier, ContactPointState, KpiConfig, StateDecodeError
from streams.kpis.logistics import C
from tests.unit.streams.test_kpi_events import at, delivery, event, ticket_time

CONFIG = KpiConfig()


def logistics() -> ContactPointState:
    return ContactPointState(contact_point=ContactPoint.LOGISTICS, config=CONFIG)


def deliveries(state: ContactPointState, as_of: object, window: str) -> int:
    return state.totals(as_of=int(as_of.timestamp()), window=window).counts[C.DELIVERIES]  # type: ignore[attr-defined]


def test_window_covers_start_inclusive_end_exclusive() -> None:
    state = logistics()
    hwm = at(days=30, hours=12, minutes=7)  # 2026-03-31 12:07
    assert state.apply(delivery(hwm)) == "applied"
    # 30d: [04-01 00:00 - 30 d, ...) = [03-02 00:00, ...); 7d: [03-25 00:00, ...)
    # 24h: [03-31 13:00 - 24 h, ...) = [03-30 13:00, ...); 1h: [12:10 - 1 h, ...) = [11:10, ...)
    for start, window in [
        (at(days=1), "30d"),
        (at(days=24), "7d"),
        (at(days=29, hours=13), "24h"),
        (at(days=30, hours=11, minutes=10), "1h"),
    ]:
        assert state.apply(delivery(start)) == "applied"
        just_before = state.apply(delivery(start - timedelta(seconds=1)))
        assert just_before == ("too_late" if window == "30d" else "applied")  # 30d is the longest
        assert deliveries(state, hwm, window) == 2, window  # hwm event + the one at the start
        state = logistics()
        state.apply(delivery(hwm))


def test_events_older_than_the_longest_retention_are_too_late() -> None:
    state = logistics()
    state.apply(delivery(at(days=30, hours=12)))
    assert state.apply(delivery(at(days=1))) == "applied"  # first second of the 30d window
    before = state.to_bytes()
    assert state.apply(delivery(at(days=1, seconds=-1))) == "too_late"
    assert state.too_late == 1
    assert deliveries(state, at(days=30, hours=12), "30d") == 2
    state.too_late = 0
    assert state.to_bytes() == before  # nothing else changed


def test_buckets_are_evicted_as_the_high_water_mark_advances() -> None:
    state = logistics()
    state.apply(delivery(at(minutes=30)))
    state.apply(delivery(at(hours=25)))  # hourly bucket of 00:30 falls out (24 h kept)
    assert deliveries(state, at(hours=25), "24h") == 1
    assert deliveries(state, at(hours=25), "7d") == 2
    assert deliveries(state, at(minutes=30), "24h") == 0  # evicted, even looking back
    assert deliveries(state, at(), "30d") == 1
    state.apply(delivery(at(days=31)))  # daily bucket of day 0 falls out (30 d kept)
    # the daily ring now holds days 2..31: days 0 and 1 are gone, even looking back
    assert deliveries(state, at(days=31), "30d") == 1
    assert deliveries(state, at(days=30), "30d") == 0
    assert deliveries(state, at(), "30d") == 0
    fresh = logistics()
    fresh.apply(delivery(at(days=31)))
    assert state.to_bytes() == fresh.to_bytes()  # evicted buckets are zeroed, not kept


def test_a_far_jump_clears_every_tier() -> None:
    state = logistics()
    state.apply(delivery(at()))
    state.apply(delivery(at(days=400)))
    fresh = logistics()
    fresh.apply(delivery(at(days=400)))
    assert state.to_bytes() == fresh.to_bytes()


def support_with_everything() -> ContactPointState:
    state = ContactPointState(contact_point=ContactPoint.SUPPORT, config=CONFIG)
    for minutes in (3, 45, 200, 1000):
        state.apply(ticket_time("ticket_first_response", at(days=2, hours=5), minutes, "high"))
        state.apply(ticket_time("ticket_resolved", at(days=9, hours=1), minutes * 3, "low"))
    state.apply(event("nps_submitted", at(days=9), score=10))
    state.apply(event("csat_submitted", at(days=1), score=2))
    state.too_late = 3
    return state


def test_round_trip_keeps_everything() -> None:
    state = support_with_everything()
    data = state.to_bytes()
    again = ContactPointState.from_bytes(data, config=CONFIG)
    assert again.to_bytes() == data
    assert (again.hwm, again.too_late, again.contact_point) == (state.hwm, 3, "support")
    as_of = at(days=9, hours=2)
    assert again.snapshots(as_of=as_of) == state.snapshots(as_of=as_of)
    assert again.snapshot(as_of=as_of, window="30d")["resolution_minutes_p90"] == 2976.0  # 3000
    assert len(data) < 300


def test_round_trip_into_a_changed_tier_layout() -> None:
    state = support_with_everything()
    hourly_daily = KpiConfig(
        windows={"24h": timedelta(hours=24), "30d": timedelta(days=30)},
        tiers=CONFIG.tiers[1:],
        score={"window": "30d"},
    )
    again = ContactPointState.from_bytes(state.to_bytes(), config=hourly_daily)
    as_of = at(days=9, hours=2)
    assert again.snapshot(as_of=as_of, window="30d") == state.snapshot(as_of=as_of, window="30d")
    six_hourly = BucketTier(granularity=timedelta(hours=6), retention=timedelta(days=60))
    finer = KpiConfig(
        windows={"30d": timedelta(days=30)}, tiers=(six_hourly,), score={"window": "30d"}
    )
    empty = ContactPointState.from_bytes(state.to_bytes(), config=finer)
    assert set(empty.snapshot(as_of=as_of, window="30d").values()) == {None}


def test_unreadable_bytes_raise_state_decode_error() -> None:
    data = support_with_everything().to_bytes()
    for bad in (b"", b"\x09" + data[1:], data[:-5], data[:1] + b"not zlib"):
        with pytest.raises(StateDecodeError):
            ContactPointState.from_bytes(bad, config=CONFIG)


offsets = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40 * 24 * 60),  # minutes after T0
        st.integers(min_value=-48, max_value=48),  # hours late
        st.integers(min_value=0, max_value=12),  # delivered of 10
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(offsets, st.randoms(use_true_random=False))
def test_apply_order_does_not_change_the_snapshots(
    spec: list[tuple[int, int, int]], rnd: object
) -> None:
    events = [delivery(at(minutes=m), late_hours=h, delivered=q) for m, h, q in spec]
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = logistics(), logistics()
    for item in events:
        first.apply(item)
    for item in shuffled:
        second.apply(item)
    as_of = max(item.occurred_at for item in events)
    assert first.snapshots(as_of=as_of) == second.snapshots(as_of=as_of)
    first.too_late = second.too_late = 0  # the only part that may depend on arrival order
    assert first.to_bytes() == second.to_bytes()
    otif = first.snapshot(as_of=as_of, window="30d")["otif"]
    assert otif is not None and 0.0 <= otif <= 1.0


@settings(max_examples=60, deadline=None)
@given(
    offsets,
    st.integers(min_value=-2 * 24 * 60, max_value=45 * 24 * 60),
    st.sampled_from(["1h", "24h", "7d", "30d"]),
)
def test_window_counts_match_a_direct_filter_of_the_events(
    spec: list[tuple[int, int, int]], as_of_minutes: int, window: str
) -> None:
    events = [delivery(at(minutes=m), late_hours=h, delivered=q) for m, h, q in spec]
    state = logistics()
    for item in events:
        state.apply(item)
    # oracle: [end - W, end) with end = end of the as_of bucket, intersected with what the
    # ring holds behind the high-water mark: the `slots` buckets up to the hwm's bucket
    granularity, slots = CONFIG.layout[CONFIG.window_tiers[window]]
    as_of = at(minutes=as_of_minutes)
    end = (int(as_of.timestamp()) // granularity + 1) * granularity
    newest = max(int(item.occurred_at.timestamp()) for item in events) // granularity
    low = max(end - int(CONFIG.windows[window].total_seconds()), (newest - slots + 1) * granularity)
    high = min(end, (newest + 1) * granularity)
    inside = [item for item in events if low <= item.occurred_at.timestamp() < high]
    totals = state.totals(as_of=int(as_of.timestamp()), window=window)
    assert totals.counts[C.DELIVERIES] == len(inside)
    assert totals.counts[C.OTIF] == sum(
        item.payload.delivered_at <= item.payload.promised_at
        and item.payload.delivered_qty >= item.payload.ordered_qty
        for item in inside
    )


def test_next_change_is_when_the_oldest_bucket_with_data_leaves_a_window() -> None:
    state = logistics()
    assert state.next_change(as_of=0) is None
    moment = at(hours=12, minutes=2)
    state.apply(delivery(moment))
    as_of = int(moment.timestamp())

    # The 1 h window (5-min buckets) loses the 12:00 bucket at 13:00.
    assert state.next_change(as_of=as_of) == epoch(hours=13)
    # Past that, the 24 h window (1-h buckets) loses the 12:00 bucket the next day at 12:00.
    assert state.next_change(as_of=epoch(hours=13)) == epoch(days=1, hours=12)
    assert state.next_change(as_of=as_of + 40 * 86400) is None


def epoch(**offset: float) -> int:
    return int(at(**offset).timestamp())


def sales(*events: object) -> ContactPointState:
    state = ContactPointState(contact_point=ContactPoint.SALES, config=CONFIG)
    for item in events:
        assert state.apply(item) == "applied"  # type: ignore[arg-type]
    return state


def test_next_change_is_the_next_whole_day_since_the_executive_meeting() -> None:
    # A meeting alone fills no window: the days since it are all that changes, a day apart,
    # counted from the meeting's time (not midnight), for as long as the state lives.
    state = sales(event("executive_meeting_held", at(hours=9, minutes=30), meeting_id="m"))
    assert state.next_change(as_of=epoch(hours=9, minutes=30)) == epoch(days=1, hours=9, minutes=30)
    assert state.next_change(as_of=epoch(days=1, hours=9, minutes=29, seconds=59)) == epoch(
        days=1, hours=9, minutes=30
    )
    assert state.next_change(as_of=epoch(days=1, hours=9, minutes=30)) == epoch(
        days=2, hours=9, minutes=30
    )
    assert state.next_change(as_of=epoch(days=400)) == epoch(days=400, hours=9, minutes=30)
    # at each step the KPI has just grown by one
    for step in (1, 2, 400):
        moment = at(days=step, hours=9, minutes=30)
        before = moment - timedelta(seconds=1)
        kpi = "days_since_executive_contact"
        assert state.snapshot(as_of=before, window="30d")[kpi] == step - 1
        assert state.snapshot(as_of=moment, window="30d")[kpi] == step


def test_next_change_is_the_earlier_of_data_leaving_and_the_next_whole_day() -> None:
    quote = event("quote_sent", at(hours=12, minutes=2), quote_id="q", requested_at=at(hours=11))
    meeting = event("executive_meeting_held", at(hours=10), meeting_id="m")
    state = sales(quote, meeting)
    # The 1 h window loses the quote's 12:00 bucket at 13:00, before the day step (day 1 10:00)
    assert state.next_change(as_of=epoch(hours=12, minutes=2)) == epoch(hours=13)
    # then the day step comes before the 24 h window loses it (day 1 12:00)
    assert state.next_change(as_of=epoch(hours=13)) == epoch(days=1, hours=10)
    assert state.next_change(as_of=epoch(days=1, hours=10)) == epoch(days=1, hours=12)
    # then the 7 d window (day 7 00:00) and the 30 d one (day 30) race the daily steps
    assert state.next_change(as_of=epoch(days=1, hours=12)) == epoch(days=2, hours=10)
    assert state.next_change(as_of=epoch(days=6, hours=10)) == epoch(days=7)
    assert state.next_change(as_of=epoch(days=7)) == epoch(days=7, hours=10)
    # a later meeting moves the steps: a day after it
    state.apply(event("executive_meeting_held", at(days=7, hours=1), meeting_id="m2"))  # type: ignore[arg-type]
    assert state.next_change(as_of=epoch(days=7, hours=1)) == epoch(days=8, hours=1)
    # a meeting older than the last one changes nothing
    state.apply(event("executive_meeting_held", at(days=5), meeting_id="m0"))  # type: ignore[arg-type]
    assert state.next_change(as_of=epoch(days=7, hours=1)) == epoch(days=8, hours=1)

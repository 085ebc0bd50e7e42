"""Lifecycle invariants over random KPI and event sequences (hypothesis, bounded examples)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Alert
from streams.alerting import AlertBook
from tests.unit.streams.test_alert_book import CONFIG, at, late, otif

Step = tuple[float, float | None, bool]
"""Hours since the previous step, OTIF value (or no data), whether a late delivery arrives."""

steps = st.lists(
    st.tuples(
        st.sampled_from([0.1, 0.5, 1.0, 5.0, 25.0]),
        st.one_of(st.none(), st.sampled_from([0.80, 0.845, 0.855, 0.90, 0.945, 0.955, 0.97])),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


def run(
    book: AlertBook, script: list[Step], *, start: int = 0, stop: int | None = None
) -> list[list[Alert]]:
    """Feed the steps ``start:stop`` of ``script`` (the clock counts from step 0)."""
    hours, batches = 0.0, []
    for index, (gap, value, bad) in enumerate(script[:stop]):
        hours += gap
        if index < start:
            continue
        events = [late(f"E{index}")] if bad else []
        snapshots = [otif(value, hours=hours)] if value is not None else []
        batches.append(book.evaluate(now=at(hours), events=events, snapshots=snapshots))
    return batches


@settings(max_examples=150, deadline=None)
@given(steps)
def test_each_key_alternates_between_open_and_resolved(script: list[Step]) -> None:
    open_since: dict[str, object] = {}
    for batch in run(AlertBook(config=CONFIG), script):
        for alert in batch:
            transition = alert.evidence["transition"]
            if transition == "new":
                assert alert.alert_key not in open_since
                open_since[alert.alert_key] = alert.started_at
            else:
                assert open_since.get(alert.alert_key) == alert.started_at
                if transition == "resolved":
                    del open_since[alert.alert_key]
            assert alert.account_name == "Acme GmbH" and alert.kam_team == "kam-dach"


@settings(max_examples=100, deadline=None)
@given(steps, st.integers(min_value=0, max_value=24))
def test_a_restored_book_continues_exactly_like_the_original(script: list[Step], cut: int) -> None:
    book = AlertBook(config=CONFIG)
    run(book, script, stop=cut)
    copy = AlertBook.loads(book.dumps(), config=CONFIG)
    assert run(copy, script, start=cut) == run(book, script, start=cut)

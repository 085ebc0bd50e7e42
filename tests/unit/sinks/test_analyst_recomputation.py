"""Every SQL answer the project ships, checked against a recomputation without SQL.

The dataset (:mod:`tests.unit.sinks.analyst_dataset`) goes through the worker's pure core and
the sink's writer into chdb with the real migrations; each documented query (docs/analysts.md,
the Grafana dashboard, the summary ``kam demo`` prints) then runs with ``now64(3)`` pinned to
the dataset's ``NOW``, and its rows must equal, exactly and in the documented order, what
Python computes from the events, account versions, alerts and KPI updates themselves. The
KPI-based answers (the health view, Q3, Q10, the latest-row query) are also checked against
the core's ground truth (:meth:`TouchpointProcessor.windows_as_of`), in both a 30-day and a
7-day health window (``KAM_SINK_HEALTH_WINDOW``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from kam.demo import SUMMARY_QUERIES
from schemas import AccountTier, Alert, ContactPoint, KpiUpdate
from schemas.sla import SUPPORT_SLA_MINUTES
from schemas.touchpoints import Priority
from sinks.chdb_backend import ChdbBackend
from sinks.fairness import AccountSignals, relative_gap, treatment_gap
from sinks.fairness.gaps import TIERS
from sinks.migrate import apply_migrations, set_health_window
from streams.alerting import load_alert_rules
from tests.unit.sinks.analyst_dataset import (
    NOW,
    Dataset,
    build,
    ch_round,
    whole_seconds,
)
from tests.unit.sinks.test_analyst_queries import documented_queries
from tests.unit.sinks.test_grafana_dashboard import expand, panels

Rows = list[list[Any]]
S, K = AccountTier.STRATEGIC, AccountTier.KEY
ENUM_ORDER = {cp.value: i for i, cp in enumerate(ContactPoint)}
"""ClickHouse orders an Enum8 by its numbers: sales, logistics, support, billing."""
TIER_ORDER = {tier.value: i for i, tier in enumerate(AccountTier)}
DAY = 86_400
WINDOWS = ("30d", "7d")
"""Health windows the KPI-based answers are checked in."""
PINNED = f"toDateTime64('{NOW:%Y-%m-%d %H:%M:%S}', 3, 'UTC')"


def pinned(sql: str) -> str:
    """``sql`` with the present pinned to the dataset's ``NOW``."""
    sql = sql.replace("now64(3)", PINNED).replace("today()", f"toDate({PINNED})")
    assert not re.search(r"\bnow(64)?\(|\btoday\(", sql), sql
    return sql


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChdbBackend, Dataset]]:
    store = ChdbBackend(path=tmp_path_factory.mktemp("recompute") / "chdb", database="kam")
    apply_migrations(store)
    dataset = build(store)
    yield store, dataset
    store.close()


# --- helpers ---------------------------------------------------------------------------------
def since(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def ratio(part: int, whole: int, digits: int = 3) -> float:
    return ch_round(part / whole, digits)


def nulls_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def days_between(earlier: datetime, later: datetime) -> int:
    """``intDiv(dateDiff('second', earlier, later), 86400)``."""
    return (whole_seconds(later) - whole_seconds(earlier)) // DAY


def whole_days(earlier: datetime) -> int:
    """``intDiv(dateDiff('second', earlier, now), 86400)``."""
    return days_between(earlier, NOW)


def hour_of(moment: datetime) -> str:
    """``toStartOfInterval(t, INTERVAL 1 hour)`` as JSONCompact prints it (a DateTime)."""
    return f"{moment:%Y-%m-%d %H}:00:00"


def iso_ms(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"


def latest_states(alerts: Sequence[Alert]) -> dict[str, tuple[Alert, datetime]]:
    """Per alert key: its latest state and the earliest ``started_at`` of all its states."""
    found: dict[str, tuple[Alert, datetime]] = {}
    for alert in alerts:
        if alert.alert_key in found:
            last, started = found[alert.alert_key]
            assert alert.updated_at != last.updated_at, "two states at one time"
            latest = alert if alert.updated_at > last.updated_at else last
            found[alert.alert_key] = (latest, min(started, alert.started_at))
        else:
            found[alert.alert_key] = (alert, alert.started_at)
    return found


def open_alerts(d: Dataset) -> dict[tuple[str, str], int]:
    """(account, contact point) -> alerts whose latest state is firing."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for alert, _ in latest_states(d.alerts).values():
        if alert.status.value == "firing":
            counts[alert.account_id, alert.contact_point.value] += 1
    return counts


def latest_updates(d: Dataset) -> dict[tuple[str, str], KpiUpdate]:
    """Per account x contact point (or overall): the update with the greatest (as_of,
    computed_at)."""
    found: dict[tuple[str, str], KpiUpdate] = {}
    for update in d.kpi_updates:
        key = (update.account_id, str(update.contact_point))
        if key not in found or (update.as_of, update.computed_at) >= (
            found[key].as_of, found[key].computed_at,
        ):  # fmt: skip
            found[key] = update
    return found


def score_truth(d: Dataset, window: str) -> dict[tuple[str, str], tuple[float | None, datetime]]:
    """The core's experience score of every key in ``window`` as of its latest update."""
    truth = {}
    for (account_id, contact_point), update in latest_updates(d).items():
        windows = d.processor.windows_as_of(
            d.partition(account_id), account_id, contact_point, update.as_of
        )
        assert windows[window]["experience_score"] == update.windows[window]["experience_score"]
        truth[account_id, contact_point] = (windows[window]["experience_score"], update.as_of)
    return truth


def same_answer(rows: Rows, expected: Rows, order: Callable[[list[Any]], Any]) -> None:
    """The same rows, in the order of ``order`` (rows tied on it may come in any order)."""
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert [order(row) for row in rows] == sorted(order(row) for row in expected)


# --- docs/analysts.md --------------------------------------------------------------------------
def q1(d: Dataset, days: int = 30) -> Rows:
    """OTIF of strategic accounts (tier at the event's time): on time and in full, as the
    ``otif`` KPI counts it (docs/kpis.md)."""
    found: dict[str, list[bool]] = defaultdict(list)
    for event in d.events:
        if event.event_type != "delivery_completed" or event.occurred_at < since(days):
            continue
        if d.at(event.account_id, event.occurred_at).tier is not S:
            continue
        p = event.payload
        found[event.account_id].append(
            p.delivered_at <= p.promised_at and p.delivered_qty >= p.ordered_qty
        )
    rows = [[a, d.at(a, NOW).name, len(v), ratio(sum(v), len(v))] for a, v in found.items()]
    return sorted(rows, key=lambda row: (row[3], row[0]))


def q2(d: Dataset) -> Rows:
    """First responses per team in 30 days; a breach is more whole seconds than the target."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for event in d.events:
        if event.event_type != "ticket_first_response" or event.occurred_at < since(30):
            continue
        team = d.at(event.account_id, event.occurred_at).kam_team or "(none)"
        waited = int((event.occurred_at - event.payload.opened_at).total_seconds())
        target = SUPPORT_SLA_MINUTES[event.payload.priority][0] * 60
        counts[team][0] += 1
        counts[team][1] += waited > target
    rows = [[team, n, late, ratio(late, n)] for team, (n, late) in counts.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def q3(d: Dataset, window: str) -> Rows:
    """Latest overall score in the health window as of the last 7 days against the 7 before."""
    weeks: dict[str, dict[bool, tuple[tuple[datetime, datetime], float]]] = defaultdict(dict)
    for u in d.kpi_updates:
        value = u.windows[window]["experience_score"]
        if u.contact_point != "overall" or value is None or u.as_of < since(14):
            continue
        this_week, version = u.as_of >= since(7), (u.as_of, u.computed_at)
        known = weeks[u.account_id].get(this_week)
        if known is None or version > known[0]:
            weeks[u.account_id][this_week] = (version, value)
    rows = [
        [a, w[True][1], w[False][1], ch_round(w[True][1] - w[False][1], 1)]
        for a, w in weeks.items()
        if len(w) == 2
    ]
    return sorted(rows, key=lambda row: (row[3], row[0]))


def last_meetings(d: Dataset) -> dict[str, datetime]:
    """Account -> the time of its latest executive meeting."""
    meetings: dict[str, datetime] = {}
    for event in d.events:
        if event.event_type == "executive_meeting_held":
            meetings[event.account_id] = max(meetings.get(event.account_id, event.occurred_at),
                                             event.occurred_at)  # fmt: skip
    return meetings


def q4(d: Dataset) -> Rows:
    meetings = last_meetings(d)
    rows = []
    for account_id in sorted({a.account_id for a in d.accounts}):
        account = d.current(account_id)
        if account.tier is S:
            last = meetings.get(account_id)
            rows.append([account_id, account.name, account.kam_owner,
                         None if last is None else whole_days(last)])  # fmt: skip
    return sorted(rows, key=lambda row: (row[3] is not None, -(row[3] or 0), row[0]))


def q5(d: Dataset) -> Rows:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for event in d.events:
        if event.contact_point is not ContactPoint.BILLING or event.occurred_at < since(90):
            continue
        counts[event.source_system][0] += event.event_type == "invoice_issued"
        counts[event.source_system][1] += event.event_type == "invoice_disputed"
    rows = [[s, i, n, ratio(n, i)] for s, (i, n) in counts.items() if i > 0]
    return sorted(rows, key=lambda row: (-row[3], row[0]))


def q6(d: Dataset) -> Rows:
    """Bad experiences per contact point over the last 7 calendar days, today's tier."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    first_day = NOW.date() - timedelta(days=6)
    for item in d.enriched:
        event = item.event
        if event.occurred_at.date() < first_day:
            continue
        if d.current(event.account_id).tier not in (S, K):
            continue
        counts[event.contact_point.value][0] += 1
        counts[event.contact_point.value][1] += item.bad_experience is not None
    rows = [[cp, n, bad, ratio(bad, n)] for cp, (n, bad) in counts.items()]
    return sorted(rows, key=lambda row: (-row[2], ENUM_ORDER[row[0]]))


def q7(d: Dataset) -> Rows:
    owners: dict[str | None, list[datetime]] = defaultdict(list)
    for alert, started in latest_states(d.alerts).values():
        if alert.status.value == "firing":
            owners[alert.kam_owner].append(started)
    rows = [
        [owner, len(starts), (whole_seconds(NOW) - whole_seconds(min(starts))) // 3600]
        for owner, starts in owners.items()
    ]
    return sorted(rows, key=lambda row: (-row[1], *nulls_last(row[0])))


def q8(d: Dataset) -> Rows:
    """Mean time from an alert's start to its last resolve, per rule, in minutes."""
    spans: dict[str, list[int]] = defaultdict(list)
    resolved: dict[str, datetime] = {}
    started: dict[str, datetime] = {}
    rule: dict[str, str] = {}
    for alert in d.alerts:
        key = alert.alert_key
        started[key] = min(started.get(key, alert.started_at), alert.started_at)
        rule[key] = alert.rule
        if alert.status.value == "resolved":
            resolved[key] = max(resolved.get(key, alert.updated_at), alert.updated_at)
    for key, end in resolved.items():
        spans[rule[key]].append(whole_seconds(end) - whole_seconds(started[key]))
    rows = [[r, len(s), ch_round(sum(s) / len(s) / 60, 1)] for r, s in spans.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def failures(d: Dataset) -> list[tuple[str, str, datetime]]:
    """(failure type, source topic, received at) of every ``failed_events`` row."""
    rows = [(x.failure_type.value, x.source_topic, x.received_at) for x in d.dead_letters]
    return rows + [("sink_undecodable", topic, at) for topic, at in d.undecodable]


def q9(d: Dataset) -> Rows:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for kind, topic, at in failures(d):
        if at >= since(hours=24):
            counts[kind, topic] += 1
    rows = [[kind, topic, n] for (kind, topic), n in counts.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0], row[1]))


def health(d: Dataset, window: str) -> Rows:
    """``account_health_current``: the core's score of every key with a row in the window."""
    opened = open_alerts(d)
    return [
        [a, cp, window, score, iso_ms(at), opened.get((a, cp), 0)]
        for (a, cp), (score, at) in sorted(score_truth(d, window).items())
    ]


def q10(d: Dataset, window: str) -> Rows:
    rows = [
        [a, d.current(a).tier.value, cp, None if score is None else ch_round(score, 1), alerts]
        for a, cp, _, score, _, alerts in health(d, window)
        if d.current(a).tier in (S, K)
    ]
    return sorted(rows, key=lambda row: (*nulls_last(row[3]), row[0], row[2]))


def q11(d: Dataset) -> Rows:
    scores: dict[str, list[int]] = defaultdict(list)
    for event in d.events:
        if event.event_type == "csat_submitted" and event.occurred_at >= since(30):
            scores[event.account_id].append(event.payload.score)
    rows = [[a, len(s), ratio(sum(x >= 4 for x in s), len(s))] for a, s in scores.items()]
    return sorted(rows, key=lambda row: (row[2], row[0]))


def q12(d: Dataset) -> Rows:
    rows = []
    for account_id in sorted({a.account_id for a in d.accounts}):
        versions = sorted((a for a in d.accounts if a.account_id == account_id),
                          key=lambda a: a.updated_at or NOW)  # fmt: skip
        for before, after in pairwise(versions):
            assert after.updated_at is not None
            if before.tier != after.tier and after.updated_at >= since(90):
                rows.append([account_id, before.tier.value, after.tier.value,
                             whole_days(after.updated_at)])  # fmt: skip
    return sorted(rows, key=lambda row: (row[3], row[0]))


def latest_values(d: Dataset) -> Rows:
    """The latest-row query: every KPI of every key and window, NULL where no data."""
    return [
        [a, cp, window, kpi, value, iso_ms(u.as_of)]
        for (a, cp), u in latest_updates(d).items()
        for window, values in u.windows.items()
        for kpi, value in values.items()
    ]


def gap_rows(d: Dataset) -> list[list[Any]]:
    """Per contact point x window x KPI: the mean latest value per (today's) tier, the
    accounts counted, the signed gap, the relative gap and the latest ``as_of`` counted."""
    cells: dict[tuple[str, str, str], dict[AccountTier, list[float]]] = defaultdict(
        lambda: defaultdict(list))  # fmt: skip
    as_of: dict[tuple[str, str, str], datetime] = {}
    for (account_id, contact_point), update in latest_updates(d).items():
        tier = d.current(account_id).tier
        for window, values in update.windows.items():
            for kpi, value in values.items():
                if value is None:
                    continue
                key = (contact_point, window, kpi)
                cells[key][tier].append(value)
                as_of[key] = max(as_of.get(key, update.as_of), update.as_of)
    rows = []
    for key in sorted(cells):
        means = [sum(v) / len(v) if (v := cells[key][t]) else None for t in TIERS]
        counts = [len(cells[key][t]) for t in TIERS]
        gap = treatment_gap(key[2], means[0], means[2])
        rows.append([*key, *means, *counts, gap, relative_gap(gap, means[2]), iso_ms(as_of[key])])
    return rows


def q13(d: Dataset, window: str) -> Rows:
    """The experience score per tier and its gap, per contact point, in the health window."""
    rows = [
        [cp, *(None if v is None else ch_round(v, 3) for v in (*means, gap)), counts[0],
         counts[2]]
        for cp, w, kpi, *means, k1, k2, k3, gap, _, _ in gap_rows(d)
        for counts in [(k1, k2, k3)]
        if kpi == "experience_score" and w == window
    ]  # fmt: skip
    return sorted(rows, key=lambda row: (*nulls_last(row[4]), row[0]))


COUNTED = {
    "ticket_opened": "ticket", "ticket_escalated": "escalation", "invoice_disputed": "dispute",
    "credit_note_issued": "credit_note", "delivery_failed": "failed_delivery",
    "return_received": "return",
}  # fmt: skip


def signals(d: Dataset, end: datetime, horizon_days: int) -> list[AccountSignals]:
    """``account_reciprocity`` from the events: each (event id, source system) once."""
    start, middle = end - timedelta(days=horizon_days), end - timedelta(days=horizon_days / 2)
    fields: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    costs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen = set()
    for event in d.events:
        identity = (event.event_id, event.source_system)
        if not start <= event.occurred_at < end or identity in seen:
            continue
        seen.add(identity)
        f, kind, p = fields[event.account_id], event.event_type, event.payload
        half = "second_half" if event.occurred_at >= middle else "first_half"
        f["events"] += 1
        if kind == "invoice_issued":
            f[f"billed_{half}"] += p.amount
        elif kind == "order_placed":
            f["ordered"] += p.amount
            f[f"orders_{half}"] += 1
        elif kind == "payment_received":
            f["payments"] += 1
            f["payments_on_time"] += p.days_late == 0
        elif kind == "csat_submitted":
            f["csat_responses"] += 1
            f["csat_satisfied"] += p.score >= 4
        elif kind == "nps_submitted":
            f["nps_responses"] += 1
            f["nps_promoters"] += p.score >= 9
            f["nps_detractors"] += p.score <= 6
        elif kind in COUNTED:
            costs[event.account_id][COUNTED[kind]] += 1
    found = []
    for account_id in sorted(fields):
        account = d.current(account_id)
        found.append(AccountSignals(
            account_id=account_id, name=account.name, tier=account.tier,
            tier_score=account.tier_score, costs={c: costs[account_id][c] for c in
                                                  COUNTED.values()}, **fields[account_id],
        ))  # fmt: skip
    return found


def q14(d: Dataset) -> Rows:
    """Cost events per 100 k EUR billed in the 90 days before now."""
    rows = []
    for s in signals(d, NOW, 90):
        cost = sum(s.costs.values())
        per = None if s.billed == 0 else ch_round(cost / (s.billed / 100_000), 2)
        rows.append([s.account_id, s.tier.value, s.events, ch_round(s.billed, 0), cost, per])
    return sorted(rows, key=lambda row: (row[5] is None, -(row[5] or 0), row[0]))


QUESTIONS: dict[str, Callable[[Dataset, str], Rows]] = {
    "Q1": lambda d, w: q1(d),
    "Q2": lambda d, w: q2(d),
    "Q3": q3,
    "Q4": lambda d, w: q4(d),
    "Q5": lambda d, w: q5(d),
    "Q6": lambda d, w: q6(d),
    "Q7": lambda d, w: q7(d),
    "Q8": lambda d, w: q8(d),
    "Q9": lambda d, w: q9(d),
    "Q10": q10,
    "Q11": lambda d, w: q11(d),
    "Q12": lambda d, w: q12(d),
    "Q13": q13,
    "Q14": lambda d, w: q14(d),
}
WINDOWED = {"Q3", "Q10", "Q13"}
"""Questions whose answer depends on the health window."""


def test_every_documented_question_is_recomputed() -> None:
    assert sorted(QUESTIONS) == sorted(documented_queries())


def test_the_support_sla_of_q2_is_the_configured_one() -> None:
    doc = documented_queries()["Q2"]
    found = dict(re.findall(r"priority = '(\w+)', (\d+)", doc))
    configured = load_alert_rules("config/alert_rules.toml").events.sla
    for priority in Priority:
        target = SUPPORT_SLA_MINUTES[priority][0] * 60
        assert configured[priority].first_response_minutes * 60 == target
        if priority is not Priority.LOW:
            assert int(found[priority.value]) == target
    assert doc.count(str(SUPPORT_SLA_MINUTES[Priority.LOW][0] * 60)) == 1  # the default


@pytest.mark.parametrize(
    ("question", "window"),
    [(q, w) for q in sorted(QUESTIONS, key=lambda q: int(q[1:]))
     for w in (WINDOWS if q in WINDOWED else WINDOWS[:1])],
)  # fmt: skip
def test_documented_question_equals_its_recomputation(
    stored: tuple[ChdbBackend, Dataset], question: str, window: str
) -> None:
    store, dataset = stored
    set_health_window(store, window)
    expected = QUESTIONS[question](dataset, window)
    assert len(expected) >= 2, "the dataset must make the question non-trivial"
    assert store.query(pinned(documented_queries()[question])).rows == expected


@pytest.mark.parametrize("window", WINDOWS)
def test_the_health_view_is_the_latest_score_in_the_health_window(
    stored: tuple[ChdbBackend, Dataset], window: str
) -> None:
    store, dataset = stored
    set_health_window(store, window)
    rows = store.query(
        "SELECT account_id, contact_point, window, experience_score, scored_at, open_alerts"
        " FROM account_health_current ORDER BY account_id, contact_point"
    ).rows
    expected = health(dataset, window)
    assert {row[2] for row in rows} == {window}
    assert any(row[3] is None for row in expected), "a key whose window emptied"
    assert rows == expected


def test_the_latest_row_query_gives_every_current_value(
    stored: tuple[ChdbBackend, Dataset],
) -> None:
    store, dataset = stored
    doc = (Path(__file__).resolve().parents[3] / "docs" / "analysts.md").read_text()
    (query,) = re.findall(r"```sql\n(SELECT account_id, contact_point, window, kpi,.*?)```",
                          doc, flags=re.S)  # fmt: skip
    rows = store.query(f"SELECT * FROM ({query}) ORDER BY ALL").rows
    assert rows == sorted(latest_values(dataset), key=lambda row: (
        row[0], row[1], row[2], row[3]))  # fmt: skip


def stale_cells(d: Dataset) -> set[tuple[str, str, str, str]]:
    """(account, contact point, window, KPI) whose latest value is not the core's value as of
    its partition's stream time at the end (now)."""
    stale = set()
    for (account_id, contact_point), update in latest_updates(d).items():
        partition = d.partition(account_id)
        now = d.processor.windows_as_of(
            partition, account_id, contact_point, d.stream_time[partition]
        )
        for window, values in update.windows.items():
            for kpi, value in values.items():
                if now[window].get(kpi) != value:
                    stale.add((account_id, contact_point, window, kpi))
    return stale


def days_moved_since_last_event(d: Dataset) -> set[str]:
    """Accounts whose whole days since the last executive meeting at the end differ from the
    days as of their last sales event: only an update sent with no event keeps them true."""
    last_sales: dict[str, datetime] = {}
    for event in d.events:
        if event.contact_point is ContactPoint.SALES:
            known = last_sales.get(event.account_id, event.occurred_at)
            last_sales[event.account_id] = max(known, event.occurred_at)
    return {
        account_id
        for account_id, met in last_meetings(d).items()
        if days_between(met, d.stream_time[d.partition(account_id)])
        != days_between(met, last_sales[account_id])
    }


def test_the_latest_rows_are_true_now(stored: tuple[ChdbBackend, Dataset]) -> None:
    """Windows that emptied or lost data since a key's last event, and the whole days since
    the last executive meeting (with the sales and overall scores weighing them) that grew
    since, were sent again: every latest value is the core's value as of now."""
    _, dataset = stored
    assert stale_cells(dataset) == set()


def test_the_executive_contact_rows_are_true_now(stored: tuple[ChdbBackend, Dataset]) -> None:
    """The latest ``days_since_executive_contact`` of every account and window is Q4's answer
    as of its partition's stream time at the end: whole days since the last meeting, NULL
    when there was none; for some accounts only an update sent with no event says so."""
    _, dataset = stored
    meetings = last_meetings(dataset)
    found, expected = {}, {}
    for (account_id, contact_point), update in latest_updates(dataset).items():
        if contact_point != "sales":
            continue
        met, end = meetings.get(account_id), dataset.stream_time[dataset.partition(account_id)]
        days = None if met is None else float(days_between(met, end))
        found[account_id] = {w: v["days_since_executive_contact"]
                             for w, v in update.windows.items()}  # fmt: skip
        expected[account_id] = dict.fromkeys(update.windows, days)
    assert len({v["30d"] for v in expected.values()}) >= 3, "the dataset must make it matter"
    assert len(days_moved_since_last_event(dataset)) >= 2, "the dataset must make it matter"
    assert found == expected


# --- the Grafana dashboard -------------------------------------------------------------------
def in_week(moment: datetime) -> bool:
    """``$__timeFilter`` for the 7-day range the dashboard test expands."""
    return moment >= since(7)


def alerting_tier(tier: AccountTier) -> bool:
    """``${tier:singlequote}`` as expanded: strategic and key."""
    return tier in (S, K)


def panel_open_alerts(d: Dataset) -> Rows:
    states = latest_states(d.alerts).values()
    return [[sum(a.status.value == "firing" and alerting_tier(a.tier) for a, _ in states)]]


def panel_bad_experiences(d: Dataset) -> Rows:
    return [[sum(
        item.bad_experience is not None and in_week(item.event.occurred_at)
        and alerting_tier(item.account.tier) for item in d.enriched
    )]]  # fmt: skip


def panel_failed_events(d: Dataset) -> Rows:
    return [[sum(in_week(at) for _, _, at in failures(d))]]


def panel_no_exec_contact(d: Dataset) -> Rows:
    meetings: dict[str, datetime] = defaultdict(lambda: NOW - timedelta(days=10_000))
    for event in d.events:
        if event.event_type == "executive_meeting_held":
            meetings[event.account_id] = max(meetings[event.account_id], event.occurred_at)
    strategic = {a.account_id for a in d.accounts if d.current(a.account_id).tier is S}
    return [[sum(meetings[a] < since(30) for a in strategic)]]


def panel_ingest_rate(d: Dataset) -> Rows:
    return [[sum(item.processed_at >= since(minutes=1) for item in d.enriched) / 60]]


def panel_per_contact_point(d: Dataset, *, bad: bool) -> Rows:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for item in d.enriched:
        event = item.event
        if in_week(event.occurred_at) and alerting_tier(item.account.tier):
            key = (hour_of(event.occurred_at), event.contact_point.value)
            counts[key] += (item.bad_experience is not None) if bad else 1
    return [[t, cp, n] for (t, cp), n in counts.items()]


def panel_worst_health(d: Dataset, window: str) -> Rows:
    return [
        [a, d.current(a).tier.value, d.current(a).kam_owner, cp,
         None if score is None else ch_round(score, 1), alerts, at]
        for a, cp, _, score, at, alerts in health(d, window)
        if alerting_tier(d.current(a).tier)
    ]  # fmt: skip


def panel_open_alert_list(d: Dataset) -> Rows:
    return [
        [a.account_id, a.kam_owner, a.contact_point.value, a.rule, a.severity.value, a.summary,
         iso_ms(started)]
        for a, started in latest_states(d.alerts).values()
        if a.status.value == "firing" and alerting_tier(a.tier)
    ]  # fmt: skip


def panel_failures_by_type(d: Dataset) -> Rows:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for kind, _, at in failures(d):
        if in_week(at):
            counts[hour_of(at), kind] += 1
    return [[t, kind, n] for (t, kind), n in counts.items()]


def panel_score_trend(d: Dataset, window: str) -> Rows:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for u in d.kpi_updates:
        value = u.windows[window]["experience_score"]
        current = d.current(u.account_id).tier
        overall = u.contact_point == "overall" and value is not None
        if overall and in_week(u.as_of) and alerting_tier(current):
            values[hour_of(u.as_of), u.account_id].append(value)
    return [[t, a, sum(v) / len(v)] for (t, a), v in values.items()]


def panel_treatment_gap(d: Dataset, window: str) -> Rows:
    """Every KPI with a gap in the health window, rounded as the panel rounds."""
    return [
        [cp, kpi, *(None if v is None else ch_round(v, 3) for v in (*means, gap)), k1, k3]
        for cp, w, kpi, *means, k1, _, k3, gap, _, _ in gap_rows(d)
        if w == window and gap is not None
    ]


PANELS: dict[str, tuple[Callable[[Dataset, str], Rows], Callable[[list[Any]], Any]]] = {
    "Open alerts now": (lambda d, w: panel_open_alerts(d), repr),
    "Bad experiences (range)": (lambda d, w: panel_bad_experiences(d), repr),
    "Failed events (range)": (lambda d, w: panel_failed_events(d), repr),
    "Strategic accounts without executive contact for 30+ days": (
        lambda d, w: panel_no_exec_contact(d), repr),
    "Touchpoints ingested per minute": (lambda d, w: panel_ingest_rate(d), repr),
    "Touchpoints per contact point": (
        lambda d, w: panel_per_contact_point(d, bad=False), lambda row: row[0]),
    "Bad experiences per contact point": (
        lambda d, w: panel_per_contact_point(d, bad=True), lambda row: row[0]),
    "Worst health (strategic and key accounts)": (
        panel_worst_health, lambda row: nulls_last(row[4])),
    "Open alerts, oldest first": (lambda d, w: panel_open_alert_list(d), lambda row: row[6]),
    "OTIF of strategic accounts (range)": (lambda d, w: q1(d, days=7), lambda row: row[3]),
    "Failed events by type": (lambda d, w: panel_failures_by_type(d), lambda row: row[0]),
    "Experience score trend (overall)": (panel_score_trend, lambda row: row[0]),
    "Treatment gap (health window): strategic vs standard": (
        panel_treatment_gap, lambda row: (row[5], row[0], row[1])),
}  # fmt: skip
"""Panel title -> (recomputation, the panel's ORDER BY)."""


def test_every_panel_is_recomputed() -> None:
    assert sorted(PANELS) == sorted(panel["title"] for panel in panels())


@pytest.mark.parametrize(
    ("title", "window"),
    [(t, w) for t in PANELS for w in (WINDOWS if "health" in t or "score" in t else WINDOWS[:1])],
)
def test_panel_equals_its_recomputation(
    stored: tuple[ChdbBackend, Dataset], title: str, window: str
) -> None:
    store, dataset = stored
    set_health_window(store, window)
    [panel] = [p for p in panels() if p["title"] == title]
    [target] = panel["targets"]
    recompute, order = PANELS[title]
    expected = recompute(dataset, window)
    assert expected and expected != [[0]], "the dataset must make the panel non-trivial"
    limit = re.search(r"LIMIT (\d+)$", target["rawSql"])
    assert limit is None or len(expected) < int(limit.group(1)), "no cut among ties"
    same_answer(store.query(pinned(expand(target["rawSql"]))).rows, expected, order)


# --- kam demo's summary ----------------------------------------------------------------------
def demo_by_tier(d: Dataset) -> Rows:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for item in d.enriched:
        key = (item.event.contact_point.value, item.account.tier.value)
        counts[key][0] += 1
        counts[key][1] += item.bad_experience is not None
    rows = [[cp, tier, n, bad] for (cp, tier), (n, bad) in counts.items()]
    return sorted(rows, key=lambda row: (ENUM_ORDER[row[0]], TIER_ORDER[row[1]]))


def demo_failures(d: Dataset) -> Rows:
    counts: dict[str, int] = defaultdict(int)
    for kind, _, _ in failures(d):
        counts[kind] += 1
    return [[kind, n] for kind, n in counts.items()]


def demo_alerts(d: Dataset) -> Rows:
    keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    states: dict[tuple[str, str], int] = defaultdict(int)
    for alert in d.alerts:
        keys[alert.contact_point.value, alert.rule].add(alert.alert_key)
        states[alert.contact_point.value, alert.rule] += 1
    rows = [[cp, rule, len(k), states[cp, rule]] for (cp, rule), k in keys.items()]
    return sorted(rows, key=lambda row: (-row[2], row[1], ENUM_ORDER[row[0]]))[:12]


def demo_accounts(d: Dataset) -> Rows:
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, set()])
    for item in d.enriched:
        account = item.account
        if account.tier in (S, K):
            group = groups[account.name, account.tier.value, account.kam_owner]
            group[0] += item.bad_experience is not None
            group[1] += 1
            if item.bad_experience is not None:
                group[2].add(item.event.contact_point.value)
    rows = [[*key, bad, n, sorted(where)] for key, (bad, n, where) in groups.items()]
    order = lambda row: (-row[3], row[0], TIER_ORDER[row[1]], *nulls_last(row[2]))  # noqa: E731
    return sorted(rows, key=order)[:8]


DEMO_KPIS = {"first_response_minutes_p90", "sla_attainment", "otif", "dispute_rate",
             "experience_score"}  # fmt: skip


def demo_gaps(d: Dataset) -> Rows:
    """The treatment gap over 7 days of the KPIs the demo shows, by contact point and KPI."""
    return [
        [cp, kpi, *(None if v is None else ch_round(v, 3) for v in (*means, gap))]
        for cp, w, kpi, *means, _, _, _, gap, _, _ in gap_rows(d)
        if w == "7d" and kpi in DEMO_KPIS
    ]


def test_the_demo_summary_equals_its_recomputation(stored: tuple[ChdbBackend, Dataset]) -> None:
    store, dataset = stored
    by_tier, failed, alerts, accounts, gaps = (
        store.query(pinned(sql.format(db="kam"))).rows for sql in SUMMARY_QUERIES.values()
    )
    assert by_tier == demo_by_tier(dataset)
    same_answer([row[:2] for row in failed], demo_failures(dataset), lambda row: -row[1])
    assert alerts == demo_alerts(dataset)
    assert [[*row[:5], sorted(row[5])] for row in accounts] == demo_accounts(dataset)
    assert gaps == demo_gaps(dataset)


def test_the_dataset_reaches_every_table(stored: tuple[ChdbBackend, Dataset]) -> None:
    store, dataset = stored
    counts = {
        table: store.query(f"SELECT count() FROM {table}").rows[0][0]
        for table in ("touchpoints", "failed_events", "alerts", "account_tier_history",
                      "kpi_snapshots")
    }
    assert counts == {
        "touchpoints": len(dataset.enriched),
        "failed_events": len(failures(dataset)),
        "alerts": len(dataset.alerts),
        "account_tier_history": len(dataset.accounts),
        "kpi_snapshots": sum(
            len(values) for u in dataset.kpi_updates for values in u.windows.values()
        ),
    }

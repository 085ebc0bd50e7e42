"""The fairness views against a recomputation without SQL, on the analysts' dataset.

100 days of simulated touchpoints run through the worker's core and the sink's writer into
chdb (:mod:`tests.unit.sinks.analyst_dataset`); ``treatment_gap`` must equal the per-tier
means of every key's latest KPI update and their signed gaps, ``account_reciprocity`` the
counts and sums of the stored events, and the review built on the view the review built on
the events themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas import AccountTier
from sinks.chdb_backend import ChdbBackend
from sinks.fairness import AccountSignals, ReviewConfig, relative_gap, review, treatment_gap
from sinks.fairness.commands import review_text
from sinks.fairness.store import read_gaps, read_signals
from sinks.migrate import apply_migrations
from streams.alerting.kpis import KPIS
from tests.unit.sinks.analyst_dataset import NOW, Dataset, build
from tests.unit.sinks.test_analyst_recomputation import iso_ms, latest_updates

TIERS = (AccountTier.STRATEGIC, AccountTier.KEY, AccountTier.STANDARD)
HORIZON = 90


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChdbBackend, Dataset]]:
    store = ChdbBackend(path=tmp_path_factory.mktemp("fairness") / "chdb", database="kam")
    apply_migrations(store)
    dataset = build(store)
    yield store, dataset
    store.close()


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


def close(rows: list[list[Any]]) -> list[list[Any]]:
    return [[pytest.approx(v, rel=1e-12, abs=1e-12) if isinstance(v, float) else v
             for v in row] for row in rows]  # fmt: skip


def test_the_treatment_gap_view_is_the_per_tier_mean_of_the_latest_values(
    stored: tuple[ChdbBackend, Dataset],
) -> None:
    store, dataset = stored
    rows = store.query("SELECT * FROM treatment_gap ORDER BY contact_point, window, kpi").rows
    expected = gap_rows(dataset)
    assert len(expected) > 50
    assert any(row[9] is not None and row[9] > 0 for row in expected)
    assert any(row[9] is not None and row[9] < 0 for row in expected)
    assert any(row[2] == "worst_of_poor" and row[9] is None for row in expected)
    assert rows == close(expected)
    read = read_gaps(store.query, "kam")
    assert [[r.contact_point, r.window, r.kpi, r.gap] for r in read] == close(
        [[*row[:3], row[9]] for row in expected])  # fmt: skip


SUMS = {"invoice_issued": "billed", "order_placed": "ordered"}
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


@pytest.mark.parametrize("horizon_days", [HORIZON, 30])
def test_the_reciprocity_view_counts_the_stored_events(
    stored: tuple[ChdbBackend, Dataset], horizon_days: int
) -> None:
    store, dataset = stored
    rows = read_signals(store.query, "kam", end=NOW, horizon_days=horizon_days)
    expected = signals(dataset, NOW, horizon_days)
    assert len(expected) == 10
    assert all(s.billed > 0 and s.payments > 0 for s in expected[:4])
    assert [_fields(s) for s in rows] == [close([_fields(s)])[0] for s in expected]


def _fields(s: AccountSignals) -> list[Any]:
    return [getattr(s, name) for name in AccountSignals.__dataclass_fields__]


def test_the_review_on_the_view_is_the_review_on_the_events(
    stored: tuple[ChdbBackend, Dataset],
) -> None:
    store, dataset = stored
    config = ReviewConfig(poor_below=65.0)
    findings = review(signals(dataset, NOW, HORIZON), config)
    assert {f.kind for f in findings} == {"poor_reciprocity", "candidate"}
    stored_findings = review(read_signals(store.query, "kam", end=NOW, horizon_days=HORIZON),
                             config)  # fmt: skip
    assert [(f.kind, f.account_id, f.reciprocity.score, f.reasons) for f in stored_findings] == [
        (f.kind, f.account_id, f.reciprocity.score, f.reasons) for f in findings]  # fmt: skip
    text = review_text(store.query, "kam", config, end=NOW, decisions={})
    for rank, finding in enumerate(findings, start=1):
        assert f"\n{rank}. {finding.account_id} " in text
        assert f"   reciprocity {finding.reciprocity.score:.2f} = 0.6 x value" in text
    assert text.endswith("(kam accounts load with override_tier, override_reason, override_by).\n")


def test_the_kpi_catalogue_of_the_migration_is_the_code_s(chdb_store: ChdbBackend) -> None:
    rows = chdb_store.query("SELECT kpi, toString(better) FROM kpi_catalogue ORDER BY kpi").rows
    assert rows == sorted([kpi, info.better] for kpi, info in KPIS.items())

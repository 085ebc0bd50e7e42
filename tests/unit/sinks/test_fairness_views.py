"""The fairness views against a recomputation without SQL, on the analysts' dataset.

100 days of simulated touchpoints run through the worker's core and the sink's writer into
chdb (:mod:`tests.unit.sinks.analyst_dataset`); ``treatment_gap`` must equal the per-tier
means of every key's latest KPI update and their signed gaps, ``account_reciprocity`` the
counts and sums of the stored events, and the review built on the view the review built on
the events themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sinks.chdb_backend import ChdbBackend
from sinks.fairness import AccountSignals, ReviewConfig, review
from sinks.fairness.commands import review_text
from sinks.fairness.store import read_gaps, read_signals
from sinks.migrate import apply_migrations
from streams.alerting.kpis import KPIS
from tests.unit.sinks.analyst_dataset import NOW, Dataset, build
from tests.unit.sinks.test_analyst_recomputation import gap_rows, signals

HORIZON = 90


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChdbBackend, Dataset]]:
    store = ChdbBackend(path=tmp_path_factory.mktemp("fairness") / "chdb", database="kam")
    apply_migrations(store)
    dataset = build(store)
    yield store, dataset
    store.close()


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
    config = ReviewConfig(poor_below=65.0, candidate_at_or_above=70.0, candidate_billing_share=0.3)
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


def test_the_kpi_catalogue_of_the_migration_is_the_code_s(
    stored: tuple[ChdbBackend, Dataset],
) -> None:
    rows = stored[0].query("SELECT kpi, toString(better) FROM kpi_catalogue ORDER BY kpi").rows
    assert rows == sorted([kpi, info.better] for kpi, info in KPIS.items())

"""Experience score: anchors, weights, bands and the worst-of rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.touchpoints import ContactPoint
from streams.kpis import (
    KpiConfig,
    KpiScoring,
    ScoreConfig,
    load_kpi_config,
    score_account,
    score_contact_point,
)
from streams.kpis.score import anchor_score, band_of

SCORE = KpiConfig().score
OTIF = SCORE.kpis[ContactPoint.LOGISTICS]["otif"]


@pytest.mark.parametrize(
    ("otif", "expected"),
    [(0.5, 0), (0.75, 0), (0.80, 25), (0.85, 50), (0.90, 75), (0.95, 100), (1.0, 100)],
)
def test_otif_anchors(otif: float, expected: float) -> None:
    # anchors 75% -> 0, 85% -> 50, 95% -> 100, linear between, flat outside
    assert anchor_score(otif, OTIF) == pytest.approx(expected)


def test_decreasing_anchors() -> None:
    delay = SCORE.kpis[ContactPoint.LOGISTICS]["delivery_delay_hours_avg"]  # 0->100, 24->50, 72->0
    assert [anchor_score(h, delay) for h in (0, 12, 24, 48, 100)] == [100, 75, 50, 25, 0]


def test_contact_point_score_weights_only_kpis_with_data() -> None:
    snapshot = {
        "otif": 0.90,  # 75, weight 0.40
        "delivery_delay_hours_avg": 0.0,  # 100, weight 0.15
        "damage_rate": 0.01,  # 75, weight 0.15
        "failed_delivery_rate": None,
        "return_rate": None,
    }
    # (0.40 * 75 + 0.15 * 100 + 0.15 * 75) / 0.70 = 56.25 / 0.70
    assert score_contact_point(ContactPoint.LOGISTICS, snapshot, SCORE) == pytest.approx(
        56.25 / 0.70
    )
    assert score_contact_point(ContactPoint.LOGISTICS, {"otif": None}, SCORE) is None


def test_account_score_and_worst_of() -> None:
    health = score_account(
        {
            ContactPoint.LOGISTICS: {"otif": 0.95},  # 100
            ContactPoint.SUPPORT: {"sla_attainment": 0.85},  # 50: poor (< 60)
            ContactPoint.BILLING: {"invoice_accuracy": None},  # no data: no score, not poor
            ContactPoint.SALES: {"days_since_executive_contact": 45.0},  # 75
        },
        SCORE,
    )
    assert health.score == pytest.approx((100 + 50 + 75) / 3)  # equal weights, billing left out
    assert health.band == "amber"  # 75 is in [60, 80)
    assert health.worst_of_poor is True
    assert health.poor_contact_points == (ContactPoint.SUPPORT,)
    assert health.contact_point_scores[ContactPoint.BILLING] is None


def test_healthy_account_and_custom_weights() -> None:
    config = SCORE.model_copy(
        update={"contact_point_weights": {ContactPoint.LOGISTICS: 3.0, ContactPoint.SUPPORT: 1.0}}
    )
    health = score_account(
        {ContactPoint.LOGISTICS: {"otif": 0.95}, ContactPoint.SUPPORT: {"sla_attainment": 0.90}},
        config,
    )
    assert health.score == pytest.approx((3 * 100 + 1 * 75) / 4)  # 93.75
    assert (health.band, health.worst_of_poor, health.poor_contact_points) == ("green", False, ())
    empty = score_account({}, SCORE)
    assert (empty.score, empty.band, empty.worst_of_poor) == (None, None, False)


def test_bands() -> None:
    assert [band_of(s, SCORE) for s in (100, 80, 79.9, 60, 59.9, 0, None)] == [
        "green", "green", "amber", "amber", "red", "red", None,
    ]  # fmt: skip


def test_score_config_validation() -> None:
    with pytest.raises(ValidationError, match="strictly increasing"):
        KpiScoring(weight=1, anchors=((0.9, 0), (0.8, 100)))
    with pytest.raises(ValidationError, match="not logistics KPIs"):
        ScoreConfig(kpis={ContactPoint.LOGISTICS: {"nps": OTIF}})
    with pytest.raises(ValidationError, match="score window"):
        KpiConfig(score=ScoreConfig(window="90d"))
    with pytest.raises(ValidationError, match="no bucket tier"):
        KpiConfig(windows={"90d": "P90D"})


def test_config_loads_from_json_with_defaults_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "kpis.json"
    path.write_text(
        '{"sla": {"urgent": {"first_response": "PT5M", "resolution": "PT1H"},'
        ' "high": {"first_response": 3600, "resolution": 28800},'
        ' "normal": {"first_response": "PT4H", "resolution": "P1D"},'
        ' "low": {"first_response": "PT8H", "resolution": "P3D"}},'
        ' "score": {"poor_threshold": 70}}'
    )
    config = load_kpi_config(path)
    assert config.sla_seconds["urgent"] == (300, 3600)
    assert (config.score.poor_threshold, config.score.green_min) == (70, 80)
    assert config.windows == KpiConfig().windows
    assert load_kpi_config(None) == KpiConfig()
    assert KpiConfig.model_validate_json(KpiConfig().model_dump_json()) == KpiConfig()

"""Tiering configuration errors are typed and say what is wrong."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from producers.tiering import (
    DEFAULT_CONFIG_PATH,
    TieringConfigError,
    WeightSumError,
    load_tiering_config,
    parse_tiering_config,
)

VALID: dict[str, Any] = {
    "model_version": "t",
    "thresholds": {"strategic": 70, "key": 40},
    "criteria": {
        "influence": {"weight": 0.6, "normalisation": {"scale": "linear", "low": 0, "high": 10}},
        "size": {"weight": 0.4, "normalisation": {"scale": "log", "low": 1e6, "high": 1e10}},
    },
}


def variant(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value
    return data


def test_valid_config_parses_with_zero_missing_policy_by_default() -> None:
    config = parse_tiering_config(VALID)
    assert config.missing_policy == "zero"
    assert list(config.criteria) == ["influence", "size"]


def test_shipped_config_is_valid() -> None:
    config = load_tiering_config(DEFAULT_CONFIG_PATH)
    assert sum(c.weight for c in config.criteria.values()) == pytest.approx(1.0)
    assert len(config.criteria) == 9


@pytest.mark.parametrize(("weight", "total"), [(0.5, 0.9), (0.7, 1.1)])
def test_weights_must_sum_to_one(weight: float, total: float) -> None:
    with pytest.raises(WeightSumError, match="expected 1") as info:
        parse_tiering_config(variant("criteria.influence.weight", weight))
    assert info.value.total == pytest.approx(total)
    assert isinstance(info.value, TieringConfigError)


def test_weights_within_tolerance_are_accepted() -> None:
    data = variant("criteria.influence.weight", 0.3333)
    data["criteria"]["size"]["weight"] = 0.3333
    data["criteria"]["growth_potential"] = {
        "weight": 0.3333, "normalisation": {"scale": "linear", "low": 0, "high": 10}
    }
    assert parse_tiering_config(data).model_version == "t"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("thresholds.key", 70, "thresholds: Value error, key \\(70.0\\) must be below strategic"),
        ("thresholds.strategic", 101, "thresholds.strategic: Input should be less than or equal"),
        ("criteria.influence.weight", 0, "criteria.influence.weight: Input should be greater"),
        ("criteria.influence.normalisation.high", -1, "low \\(0.0\\) must be below high"),
        ("criteria.size.normalisation.low", 0, "criteria.size.normalisation.log.low"),
        ("criteria.size.normalisation.scale", "cubic", "does not match any of the expected tags"),
        ("missing_policy", "ignore", "missing_policy: Input should be 'zero' or 'renormalise'"),
        ("model_version", "", "model_version: String should have at least 1 character"),
        ("criteria", {}, "criteria: Dictionary should have at least 1 item"),
        ("thresholds.extra", 1, "thresholds.extra: Extra inputs are not permitted"),
    ],
)
def test_invalid_configs_raise_a_config_error_naming_the_field(
    path: str, value: Any, message: str
) -> None:
    with pytest.raises(TieringConfigError, match=message):
        parse_tiering_config(variant(path, value))


def test_unknown_criterion_is_rejected() -> None:
    data = copy.deepcopy(VALID)
    data["criteria"]["shoe_size"] = data["criteria"].pop("size")
    with pytest.raises(TieringConfigError, match=r"criteria\.shoe_size\.\[key\]: Input should be"):
        parse_tiering_config(data)


def test_scale_must_fit_the_criterion() -> None:
    data = variant("criteria.size.normalisation", {"scale": "set", "values": ["x"]})
    with pytest.raises(TieringConfigError, match="criterion size: scale 'set' does not fit"):
        parse_tiering_config(data)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(TieringConfigError, match="cannot read tiering configuration"):
        load_tiering_config(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("model_version = \n")
    with pytest.raises(TieringConfigError, match="is not TOML"):
        load_tiering_config(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('model_version = "x"\n[thresholds]\nstrategic = 80\nkey = 60\n')
    with pytest.raises(TieringConfigError, match="criteria: Field required"):
        load_tiering_config(wrong)

"""docs/operations.md stays in step with the code: metrics, rules, alerts and variable names."""

from __future__ import annotations

import re

import yaml

from tests.unit.deploy.settings_env import DEPLOY, REPO, unknown_kam_names
from tests.unit.deploy.test_prometheus_rules import kam_metrics, rules

DOC = (REPO / "docs" / "operations.md").read_text()
TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}


def catalogue_rows() -> dict[str, str]:
    """Metric name -> type, from the catalogue tables."""
    rows = re.findall(r"^\| `(kam_[a-z0-9_]+)` \| (counter|gauge|histogram) \|", DOC, re.M)
    return dict(rows)


def test_every_metric_of_the_code_is_in_the_catalogue_with_its_type() -> None:
    expected = {}
    for metric in kam_metrics():
        family = metric.describe()[0]
        name = family.name + ("_total" if family.type == "counter" else "")
        expected[name] = TYPES[family.type]
    assert catalogue_rows() == expected


def test_every_rule_is_documented() -> None:
    for rule in rules():
        assert f"`{rule.get('record') or rule['alert']}`" in DOC


def test_variable_names_in_the_doc_exist() -> None:
    names = set(re.findall(r"\b(?:KAFKA|CLICKHOUSE|KAM)_[A-Z0-9_]+", DOC))
    assert unknown_kam_names({n for n in names if not n.endswith("_")}) == []


def test_every_compose_service_is_described() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    section = DOC.split("## Docker Compose")[1].split("\n## ")[0]
    assert {name for name in services if f"`{name}`" in section} == set(services)

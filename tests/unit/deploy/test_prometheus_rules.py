"""deploy/prometheus: promtool checks and unit tests, and every metric the rules read exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import PROCESS_COLLECTOR, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from producers.ingest import metrics as ingest_metrics
from sinks import metrics as sink_metrics
from sinks.board import metrics as board_metrics
from sinks.fairness import metrics as fairness_metrics
from sinks.notify.metrics import NotifierMetrics
from streams import metrics as worker_metrics
from tests.unit.deploy.settings_env import DEPLOY

PROMETHEUS = DEPLOY / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULES_TEST = PROMETHEUS / "tests" / "kam-rules.test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package `prometheus`; `make system-deps`)",
)
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
SCRAPE_LABELS = {"job", "instance", "le"}
_SERIES = re.compile(r"(?<![\w:])((?:kam|process)_[a-z0-9_]+)(?![\w:])")
_AGGREGATE = re.compile(r"by \(([^)]*)\) \((?:(?:rate|increase)\()?((?:kam|process)_[a-z0-9_]+)")


def kam_metrics() -> list[MetricWrapperBase]:
    """Every metric object of the worker, the sink, the fairness check, the notifier, the
    ingest service and the board."""
    modules = [
        vars(worker_metrics).values(),
        vars(sink_metrics).values(),
        vars(fairness_metrics).values(),
        vars(ingest_metrics).values(),
        vars(board_metrics).values(),
    ]
    found = [m for values in modules for m in values if isinstance(m, MetricWrapperBase)]
    notifier = NotifierMetrics.create(CollectorRegistry())
    return found + [getattr(notifier, field.name) for field in fields(notifier)]


def exposed_series() -> dict[str, set[str]]:
    """Every series name the KAM processes expose, with the labels of its metric."""
    series: dict[str, set[str]] = {}
    described = [(m.describe()[0], set(m._labelnames)) for m in kam_metrics()]
    described += [(family, set()) for family in PROCESS_COLLECTOR.collect()]
    for family, labels in described:
        for suffix in SUFFIXES[family.type]:
            series[family.name + suffix] = labels
    return series


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@needs_promtool
def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


@needs_promtool
def test_promtool_unit_tests_of_the_rules() -> None:
    result = promtool("test", "rules", RULES_TEST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_check_config() -> None:
    result = promtool("check", "config", "--syntax-only", PROMETHEUS / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_series_the_rules_read_is_exposed_with_those_labels() -> None:
    exposed = exposed_series()
    assert "process_resident_memory_bytes" in exposed  # Linux process collector
    for rule in rules():
        for name in _SERIES.findall(rule["expr"]):
            assert name in exposed, f"{name} in {rule.get('record') or rule['alert']}"
        for grouping, name in _AGGREGATE.findall(rule["expr"]):
            wanted = {label.strip() for label in grouping.split(",")} - SCRAPE_LABELS
            assert wanted <= exposed[name], (name, wanted - exposed[name])


def test_alerts_read_only_recorded_series_or_raw_process_series() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for alert in alerts():
        used = set(re.findall(r"job:[a-z0-9_]+:[a-z0-9_]+", alert["expr"]))
        assert used <= recorded, alert["alert"]
        assert not [n for n in _SERIES.findall(alert["expr"]) if n.startswith("kam_")], alert


def test_alert_labels_and_annotations() -> None:
    for alert in alerts():
        labels = alert["labels"]
        assert labels["severity"] in ("critical", "warning"), alert["alert"]
        assert labels["team"] == "kam-platform"
        assert labels["component"] in ("process", "worker", "sink", "notifier", "ingest", "board")
        assert alert["annotations"].keys() == {"summary", "description", "runbook_url"}
        assert alert["annotations"]["runbook_url"].endswith("/" + alert["alert"])


def test_every_alert_fires_in_the_unit_tests() -> None:
    tested = yaml.safe_load(RULES_TEST.read_text())
    fired = {
        case["alertname"]
        for test in tested["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert fired == {alert["alert"] for alert in alerts()}
    groups = [g["name"] for path in RULE_FILES for g in yaml.safe_load(path.read_text())["groups"]]
    assert sorted(tested["group_eval_order"]) == sorted(groups)


def test_scrape_jobs_are_the_jobs_the_rules_name() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    named = set(re.findall(r'job="(kam-[a-z]+)"', "\n".join(r["expr"] for r in rules())))
    assert named == {"kam-worker", "kam-sink", "kam-notify"}
    assert named <= jobs
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]

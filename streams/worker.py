"""Run the stream worker process: topics up front, metrics endpoint, then the Faust worker."""

from __future__ import annotations

from datetime import timedelta

from faust.worker import Worker
from prometheus_client import start_http_server

from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.settings import (
    AlertingSettings,
    KafkaSettings,
    KpiSettings,
    MetricsSettings,
    TopicSettings,
    WorkerSettings,
)
from streams.alerting import AlertRulesConfig, load_alert_rules
from streams.app import create_app
from streams.kpis import KpiConfig, SlaTarget, load_kpi_config


def with_support_sla(kpis: KpiConfig, rules: AlertRulesConfig) -> KpiConfig:
    """The KPI config measuring SLA attainment against the SLA the alert rules enforce."""
    sla = {
        priority: SlaTarget(
            first_response=timedelta(minutes=target.first_response_minutes),
            resolution=timedelta(minutes=target.resolution_minutes),
        )
        for priority, target in rules.events.sla.items()
    }
    return kpis.model_copy(update={"sla": sla})


def run_worker(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    worker: WorkerSettings,
    metrics: MetricsSettings,
    kpis: KpiSettings,
    alerting: AlertingSettings,
) -> None:
    """Block running the worker until SIGTERM/SIGINT; returns after a clean shutdown."""
    ensure_topics(kafka, pipeline_topics(topics))
    worker.data_dir.mkdir(parents=True, exist_ok=True)
    if metrics.port:
        start_http_server(metrics.port, addr=metrics.host)
    rules = load_alert_rules(alerting.rules_path)
    app = create_app(
        kafka=kafka,
        topics=topics,
        worker=worker,
        kpis=with_support_sla(load_kpi_config(kpis.config_path), rules),
        alert_rules=rules,
    )
    Worker(app, loglevel=worker.log_level, quiet=True).execute_from_commandline()

"""Run the stream worker process: topics up front, metrics endpoint, then the Faust worker."""

from __future__ import annotations

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
from streams.alerting import load_alert_rules
from streams.app import create_app
from streams.kpis import load_kpi_config


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
    app = create_app(
        kafka=kafka,
        topics=topics,
        worker=worker,
        kpis=load_kpi_config(kpis.config_path),
        alert_rules=load_alert_rules(alerting.rules_path),
    )
    Worker(app, loglevel=worker.log_level, quiet=True).execute_from_commandline()

"""Run the stream worker process: topics up front, metrics endpoint, then the Faust worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import uvloop
from faust.worker import Worker
from prometheus_client import start_http_server

from kam.errors import KamError
from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.locks import ExclusiveLock, LockBusy
from kam.settings import (
    AlertingSettings,
    KafkaSettings,
    KpiSettings,
    MetricsSettings,
    TopicSettings,
    WorkerSettings,
)
from streams.alerting import AlertRulesConfig, load_alert_rules
from streams.app import create_app, internal_topics
from streams.kpis import KpiConfig, SlaTarget, load_kpi_config

LOCK_FILE = "worker.lock"


class DataDirInUse(KamError):  # noqa: N818 - a state
    """Another live worker uses this worker's data directory."""


def lock_data_dir(worker: WorkerSettings) -> ExclusiveLock:
    """Hold the data directory for this process's lifetime: one worker per directory, so its
    static group membership id (:func:`streams.app.group_instance_id`) is its own."""
    try:
        return ExclusiveLock.acquire(worker.data_dir / LOCK_FILE)
    except LockBusy as exc:
        raise DataDirInUse(
            f"{exc.holder} already runs a worker on {worker.data_dir}; give each worker its own"
            " KAM_WORKER_DATA_DIR"
        ) from None


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


def use_event_loop(worker: WorkerSettings) -> None:
    """Install the event loop of ``KAM_WORKER_EVENT_LOOP`` for the loop Faust creates next."""
    if worker.event_loop == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


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
    use_event_loop(worker)
    data_dir = lock_data_dir(worker)  # creates the directory; the kernel frees it on any exit
    rules = load_alert_rules(alerting.rules_path)
    app = create_app(
        kafka=kafka,
        topics=topics,
        worker=worker,
        kpis=with_support_sla(load_kpi_config(kpis.config_path), rules),
        alert_rules=rules,
    )
    ensure_topics(kafka, pipeline_topics(topics) + internal_topics(app, topics.partitions))
    if metrics.port:
        start_http_server(metrics.port, addr=metrics.host)
    try:
        Worker(app, loglevel=worker.log_level, quiet=True).execute_from_commandline()
    finally:
        data_dir.release()

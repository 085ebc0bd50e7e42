"""The ceiling Faust itself sets: a do-nothing agent with the worker's own Faust settings.

The app is the worker's (:func:`streams.app.faust_app`, same settings, same event loop), the
touchpoints topic is declared as the worker declares it (:func:`streams.app.raw_topic`, raw
bytes) and read as the worker reads it
(``take_events(KAM_WORKER_BATCH_SIZE, within=KAM_WORKER_BATCH_MAX_WAIT_SECONDS)``);
the agent only counts the events (``kam_bench_faust_events_total`` on ``KAM_METRICS_PORT``).
``bench_worker`` runs it as a child process on the records the worker processed, under its own
app id (consumer group) and data directory, configured like the worker through the environment:

    KAFKA_BOOTSTRAP_SERVERS=... KAM_TOPIC_TOUCHPOINTS=... KAM_WORKER_APP_ID=... \\
        KAM_WORKER_DATA_DIR=... KAM_METRICS_PORT=... python -m bench.faust_baseline
"""

from __future__ import annotations

import faust
from faust.worker import Worker
from prometheus_client import Counter, start_http_server

from bench.common import FAUST_BASELINE_COUNTER
from kam.settings import KafkaSettings, MetricsSettings, TopicSettings, WorkerSettings
from streams.app import faust_app, raw_topic
from streams.worker import use_event_loop

COUNTED = Counter(
    FAUST_BASELINE_COUNTER.removesuffix("_total"), "Touchpoints the do-nothing agent took."
)


def create_app(*, kafka: KafkaSettings, topics: TopicSettings, worker: WorkerSettings) -> faust.App:
    app = faust_app(kafka=kafka, topics=topics, worker=worker)
    touchpoints = raw_topic(app, topics.touchpoints, topics.partitions)

    @app.agent(touchpoints)
    async def count_touchpoints(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(  # type: ignore[attr-defined]  # on Stream
            worker.batch_size, within=worker.batch_max_wait_seconds
        ):
            COUNTED.inc(len(events))

    return app


def main() -> None:
    worker, metrics = WorkerSettings(), MetricsSettings()
    use_event_loop(worker)
    worker.data_dir.mkdir(parents=True, exist_ok=True)
    start_http_server(metrics.port, addr=metrics.host)
    app = create_app(kafka=KafkaSettings(), topics=TopicSettings(), worker=worker)
    Worker(app, loglevel=worker.log_level, quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()

"""``python -m sinks``: run the ClickHouse sink with settings from the environment.

Stops cleanly on SIGTERM/SIGINT. The consumer group is ``KAM_SINK_GROUP_ID``.
"""

from __future__ import annotations

import logging
import signal
import threading

from kam.settings import (
    ClickHouseSettings,
    KafkaSettings,
    MetricsSettings,
    SinkSettings,
    TopicSettings,
)
from sinks.runner import run_sink


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    sink = SinkSettings()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_sink(
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        clickhouse=ClickHouseSettings(),
        group_id=sink.group_id,
        stop=stop,
        sink=sink,
        metrics_settings=MetricsSettings(),
    )


if __name__ == "__main__":
    main()

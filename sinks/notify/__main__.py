"""``python -m sinks.notify``: run the alert notifier with settings from the environment.

Stops cleanly on SIGTERM/SIGINT. Routing file and group: ``KAM_NOTIFY_CONFIG_PATH``,
``KAM_NOTIFY_GROUP_ID``; metrics: ``KAM_METRICS_PORT``.
"""

from __future__ import annotations

import logging
import signal
import threading

from kam.settings import KafkaSettings, MetricsSettings, NotifierSettings, TopicSettings
from sinks.notify.service import run_notifier


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    settings = NotifierSettings()
    run_notifier(
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        config_path=settings.config_path,
        group_id=settings.group_id,
        stop=stop,
        metrics_settings=MetricsSettings(),
    )


if __name__ == "__main__":
    main()

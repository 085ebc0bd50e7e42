"""The ``kam`` command: one subcommand per KAM Pulse process or task.

Settings come from the environment (see :mod:`kam.settings`); flags only choose what to do.
Heavy packages are imported inside each command so ``kam sql`` does not load Faust.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from kam.settings import KafkaSettings, MetricsSettings, TopicSettings, WorkerSettings

Command = Callable[[argparse.Namespace], int]


def _worker(args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    run_worker(
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        worker=WorkerSettings(),
        metrics=MetricsSettings(),
    )
    return 0


def _topics(args: argparse.Namespace) -> int:
    from kam.kafka_admin import ensure_topics, pipeline_topics

    topics = TopicSettings()
    ensure_topics(KafkaSettings(), pipeline_topics(topics))
    print("topics ready:", ", ".join(topic.topic for topic in pipeline_topics(topics)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kam", description="KAM Pulse: real-time key-account customer experience."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command("worker", _worker, "run a stream worker (Faust) until SIGTERM")
    command("topics", _topics, "create the pipeline's topics if they do not exist")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())

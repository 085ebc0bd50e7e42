"""The ``kam`` command: one subcommand per KAM Pulse process or task.

Settings come from the environment (see :mod:`kam.settings`); flags only choose what to do.
Each command imports its package lazily, so ``kam sql`` does not load Faust.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kam.errors import KamError
from kam.settings import (
    AlertingSettings,
    ClickHouseSettings,
    KafkaSettings,
    KpiSettings,
    MetricsSettings,
    NotifierSettings,
    SinkSettings,
    TieringSettings,
    TopicSettings,
    WorkerSettings,
)
from sinks.notify.commands import add_snooze_arguments, add_unsnooze_arguments

Command = Callable[[argparse.Namespace], int]
EXIT_ERROR = 2


def _stop_on_signal() -> threading.Event:
    """An event set by SIGTERM or SIGINT: long-running services stop cleanly on it."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _ready_topics() -> tuple[KafkaSettings, TopicSettings]:
    from kam.kafka_admin import ensure_topics, pipeline_topics

    kafka, topics = KafkaSettings(), TopicSettings()
    ensure_topics(kafka, pipeline_topics(topics))
    return kafka, topics


def _worker(args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    run_worker(
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        worker=WorkerSettings(),
        metrics=MetricsSettings(),
        kpis=KpiSettings(),
        alerting=AlertingSettings(),
    )
    return 0


def _sink(args: argparse.Namespace) -> int:
    from sinks import run_sink

    kafka, topics = _ready_topics()
    sink = SinkSettings()
    run_sink(
        kafka=kafka,
        topics=topics,
        clickhouse=ClickHouseSettings(),
        group_id=sink.group_id,
        stop=_stop_on_signal(),
        sink=sink,
        metrics_settings=MetricsSettings(),
    )
    return 0


def _notify(args: argparse.Namespace) -> int:
    from sinks.notify import run_notifier

    kafka, topics = _ready_topics()
    settings = NotifierSettings()
    run_notifier(
        kafka=kafka,
        topics=topics,
        config_path=settings.config_path,
        group_id=settings.group_id,
        stop=_stop_on_signal(),
        metrics_settings=MetricsSettings(),
    )
    return 0


def _topics(args: argparse.Namespace) -> int:
    from kam.kafka_admin import pipeline_topics

    _, topics = _ready_topics()
    print("topics ready:", ", ".join(topic.topic for topic in pipeline_topics(topics)))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from producers.simulation import simulate

    kafka, topics = _ready_topics()
    report = simulate(
        kafka=kafka,
        topics=topics,
        seed=args.seed,
        accounts=args.accounts,
        events=args.events,
        rate=args.rate or None,
        duration=args.duration,
        bad_probability=args.bad_probability,
        invalid_fraction=args.invalid_fraction,
    )
    print(report.summary())
    return 0 if report.failed == 0 else 1


def _publish(args: argparse.Namespace) -> int:
    from producers.jsonlines import publish_command

    kafka, topics = _ready_topics()
    return publish_command(args.file, kafka=kafka, topics=topics)


def _accounts_load(args: argparse.Namespace) -> int:
    from producers.accounts import load_accounts_command

    kafka, topics = _ready_topics()
    return load_accounts_command(
        args.file,
        kafka=kafka,
        topics=topics,
        config_path=TieringSettings().config_path,
        out=sys.stdout,
        err=sys.stderr,
        fmt=args.format,
        dry_run=args.dry_run,
    )


def _accounts_explain(args: argparse.Namespace) -> int:
    from producers.accounts import explain_account_command

    return explain_account_command(
        args.account_id,
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        config_path=TieringSettings().config_path,
        out=sys.stdout,
        err=sys.stderr,
    )


def _alerts_snooze(args: argparse.Namespace) -> int:
    from sinks.notify import snooze_command

    return snooze_command(
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        account_id=args.account_id,
        until=args.until,
        reason=args.reason,
        rule=args.rule,
        created_by=args.created_by,
    )


def _alerts_unsnooze(args: argparse.Namespace) -> int:
    from sinks.notify import unsnooze_command

    return unsnooze_command(
        kafka=KafkaSettings(), topics=TopicSettings(), account_id=args.account_id, rule=args.rule
    )


def _sql(args: argparse.Namespace) -> int:
    from sinks import run_sql

    print(run_sql(ClickHouseSettings(), args.query, fmt=args.format), end="")
    return 0


def _db_migrate(args: argparse.Namespace) -> int:
    from sinks import migrate

    applied = migrate(ClickHouseSettings())
    print("applied:", ", ".join(applied) if applied else "nothing, the schema is up to date")
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from schemas.export import export

    for path in export():
        print("wrote", path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from kam.demo import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            duration=args.duration,
            rate=args.rate,
            accounts=args.accounts,
            seed=args.seed,
            workdir=args.workdir,
        )
    )


def _add_simulation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="same seed, same events")
    parser.add_argument("--accounts", type=int, default=50, help="number of accounts")
    parser.add_argument("--events", type=int, default=None, help="stop after this many events")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many s")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s (0: unthrottled)")
    parser.add_argument(
        "--bad-probability",
        type=float,
        default=0.05,
        help="chance that an event is a bad experience",
    )
    parser.add_argument(
        "--invalid-fraction",
        type=float,
        default=0.0,
        help="share of invalid messages (dead-letter demo)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kam", description="KAM Pulse: real-time key-account customer experience."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        handler: Command | None,
        help_text: str,
        group: argparse._SubParsersAction | None = None,
    ) -> argparse.ArgumentParser:
        sub = (group or commands).add_parser(name, help=help_text, description=help_text)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    command("worker", _worker, "run a stream worker (Faust) until SIGTERM")
    command("sink", _sink, "run the ClickHouse sink until SIGTERM")
    command("notify", _notify, "run the alert notifier until SIGTERM")
    command("topics", _topics, "create the pipeline's topics if they do not exist")
    command("schemas", _schemas, "write the JSON Schema files of the event catalogue")

    demo = command("demo", _demo, "run the whole pipeline on a local broker and summarise it")
    demo.add_argument("--duration", type=float, default=30.0, help="seconds of events")
    demo.add_argument("--rate", type=float, default=200.0, help="events/s")
    demo.add_argument("--accounts", type=int, default=60, help="number of accounts")
    demo.add_argument("--seed", type=int, default=7, help="simulation seed")
    demo.add_argument("--workdir", type=Path, default=Path(".kam/demo"), help="demo data")

    _add_simulation_arguments(
        command(
            "simulate", _simulate, "publish simulated accounts and touchpoints at a target rate"
        )
    )
    publish = command("publish", _publish, "publish touchpoints from JSON lines (FILE or -)")
    publish.add_argument("file", help="JSON lines file, - for stdin")

    accounts = command("accounts", None, "account master data and strategic tiering")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    load = command(
        "load", _accounts_load, "tier and publish accounts from CSV or JSON lines", account_commands
    )
    load.add_argument("file", type=Path, help="CSV or JSON lines file")
    load.add_argument("--format", choices=("auto", "csv", "jsonl"), default="auto")
    load.add_argument("--dry-run", action="store_true", help="validate and tier, publish nothing")
    explain = command("explain", _accounts_explain, "why an account has its tier", account_commands)
    explain.add_argument("account_id")

    alerts = command("alerts", None, "alert snoozes")
    alert_commands = alerts.add_subparsers(dest="alerts_command", required=True)
    add_snooze_arguments(
        command(
            "snooze",
            _alerts_snooze,
            "silence an account or one rule until a time, with a reason",
            alert_commands,
        )
    )
    add_unsnooze_arguments(
        command("unsnooze", _alerts_unsnooze, "lift a snooze now", alert_commands)
    )

    sql = command("sql", _sql, "run SQL on the configured ClickHouse (also while running)")
    sql.add_argument("query")
    sql.add_argument("--format", default="PrettyCompactMonoBlock", help="ClickHouse format")
    database = command("db", None, "ClickHouse schema")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    command("migrate", _db_migrate, "apply pending migrations", database_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Command = args.handler
    try:
        return handler(args)
    except KamError as error:
        print(f"kam {args.command}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""The ``kam`` command: one subcommand per KAM Pulse process or task.

Settings come from the environment (see :mod:`kam.settings`); flags only choose what to do.
Each command imports its package lazily, so ``kam sql`` does not load Faust. Before a command
runs, what it needs (input file, configuration files, ClickHouse, the Kafka cluster) is checked
in bounded time (:mod:`kam.preflight`); any failure is one line on stderr and exit code 2, with
the traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from kam import preflight
from kam.errors import KamError
from kam.preflight import ConfigFile
from kam.settings import (
    AlertingSettings,
    BoardSettings,
    ClickHouseSettings,
    FairnessSettings,
    IngestSettings,
    KafkaSettings,
    KpiSettings,
    MetricsSettings,
    NotifierSettings,
    SinkSettings,
    TieringSettings,
    TopicSettings,
    WorkerSettings,
)
from schemas.touchpoints import ContactPoint
from sinks.notify.commands import add_snooze_arguments, add_unsnooze_arguments

Command = Callable[[argparse.Namespace], int]
Check = Callable[[argparse.Namespace], None]
EXIT_ERROR = 2
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")


class UsageError(KamError):
    """A bad flag, a missing argument or an unknown command, in the (sub)command ``prog``."""

    def __init__(self, prog: str, message: str) -> None:
        self.prog = prog
        super().__init__(f"{message}: see `{prog} --help`")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and an exception main() reports)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


def _load_alert_rules(path: Path) -> object:
    from streams.alerting import load_alert_rules

    return load_alert_rules(path)


def _load_kpi_config(path: Path) -> object:
    from streams.kpis import load_kpi_config

    return load_kpi_config(path)


def _load_routing(path: Path) -> object:
    from sinks.notify import load_routing_config

    return load_routing_config(path)


def _load_fairness(path: Path) -> object:
    from sinks.fairness import load_fairness_config

    return load_fairness_config(path)


def _load_tiering(path: Path) -> object:
    from producers.tiering import load_tiering_config

    return load_tiering_config(path)


ALERT_RULES = ConfigFile("alert rules file", "KAM_ALERTS_RULES_PATH", _load_alert_rules)
KPI_CONFIG = ConfigFile("KPI configuration file", "KAM_KPI_CONFIG_PATH", _load_kpi_config)
ROUTING = ConfigFile("routing file", "KAM_NOTIFY_CONFIG_PATH", _load_routing)
TIERING = ConfigFile("tiering configuration file", "KAM_TIERING_CONFIG_PATH", _load_tiering)
FAIRNESS = ConfigFile("fairness configuration file", "KAM_FAIRNESS_CONFIG_PATH", _load_fairness)


def _input_file(args: argparse.Namespace) -> None:
    preflight.require_readable(args.file)


def _alert_rules(args: argparse.Namespace) -> None:
    preflight.require_config(ALERT_RULES, AlertingSettings().rules_path)


def _kpi_config(args: argparse.Namespace) -> None:
    preflight.require_config(KPI_CONFIG, KpiSettings().config_path)


def _routing(args: argparse.Namespace) -> None:
    preflight.require_config(ROUTING, NotifierSettings().config_path)


def _tiering(args: argparse.Namespace) -> None:
    preflight.require_config(TIERING, TieringSettings().config_path)


def _fairness(args: argparse.Namespace) -> None:
    preflight.require_config(FAIRNESS, FairnessSettings().config_path)


def _clickhouse(args: argparse.Namespace) -> None:
    preflight.require_clickhouse(ClickHouseSettings())


def _broker(args: argparse.Namespace) -> None:
    preflight.require_broker(KafkaSettings())


def _external_broker(args: argparse.Namespace) -> None:
    """``kam demo`` starts its own broker unless ``KAFKA_BOOTSTRAP_SERVERS`` names one."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        _broker(args)


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
        board_url=BoardSettings().base_url(),
    )
    return 0


def _board(args: argparse.Namespace) -> int:
    if args.hash_password:
        return _hash_password()
    from sinks.board.server import board_context, run_board

    board = board_context(
        settings=BoardSettings(),
        clickhouse=ClickHouseSettings(),
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        kpi_config_path=KpiSettings().config_path,
        alert_rules_path=AlertingSettings().rules_path,
        tiering_path=TieringSettings().config_path,
    )
    run_board(board, metrics=MetricsSettings(), stop=_stop_on_signal())
    return 0


def _hash_password() -> int:
    """``kam board --hash-password``: a password from stdin (or a prompt) as a scrypt hash."""
    import getpass

    from sinks.board.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("board password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise preflight.PreflightError("no password given on stdin: nothing to hash")
    print(hash_password(password))
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from producers.ingest import run_ingest

    kafka, topics = _ready_topics()
    run_ingest(
        kafka=kafka,
        topics=topics,
        settings=IngestSettings(),
        metrics=MetricsSettings(),
        stop=_stop_on_signal(),
    )
    return 0


def _ingest_config(args: argparse.Namespace) -> None:
    from producers.ingest.run import configured_tokens, configured_webhooks

    settings = IngestSettings()
    configured_tokens(settings)
    configured_webhooks(settings)


def _ingest_token(args: argparse.Namespace) -> int:
    from producers.ingest import new_token, token_hash

    token = new_token()
    print(f"token (give it to {args.source_system}; it is shown once): {token}")
    print(f"KAM_INGEST_TOKENS line: {args.source_system} {token_hash(token)}")
    return 0


def _topics(args: argparse.Namespace) -> int:
    from kam.kafka_admin import pipeline_topics

    _, topics = _ready_topics()
    print("topics ready:", ", ".join(topic.topic for topic in pipeline_topics(topics)))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from producers.scenarios import tiers_ignored_by
    from producers.simulation import simulate

    kafka, topics = _ready_topics()
    blind = args.tier_blind
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
        tier_service=None if blind is None else tiers_ignored_by(ContactPoint(blind)),
    )
    print(report.summary())
    return 0 if report.failed == 0 else 1


def _publish(args: argparse.Namespace) -> int:
    from producers.jsonlines import publish_command

    kafka, topics = _ready_topics()
    return publish_command(args.file, kafka=kafka, topics=topics)


def _backfill(args: argparse.Namespace) -> int:
    from producers.backfill import BackfillOptions, backfill_command
    from streams.kpis import load_kpi_config

    kafka, topics = _ready_topics()
    windows = load_kpi_config(KpiSettings().config_path).windows
    options = BackfillOptions(
        checkpoints=args.checkpoint_dir,
        chunk_lines=args.chunk_lines,
        again=args.again,
        longest_window=max(windows.values()),
    )
    return backfill_command(args.file, kafka=kafka, topics=topics, options=options)


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


def _accounts_review(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from producers.tiering import load_tiering_config
    from sinks.fairness import load_fairness_config
    from sinks.fairness.commands import clickhouse_query, review_text, tier_decisions

    config = load_fairness_config(FairnessSettings().config_path).review
    if args.horizon_days is not None:
        config = config.model_copy(update={"horizon_days": args.horizon_days})
    kafka, topics = KafkaSettings(), TopicSettings()
    clickhouse = ClickHouseSettings()
    decisions = tier_decisions(kafka, topics, load_tiering_config(TieringSettings().config_path))
    end = args.end or datetime.now(UTC)
    print(review_text(clickhouse_query(clickhouse), clickhouse.database, config, end=end,
                      decisions=decisions), end="")  # fmt: skip
    return 0


def _fairness_check(args: argparse.Namespace) -> int:
    from sinks.fairness import load_fairness_config
    from sinks.fairness.commands import check_command

    config = load_fairness_config(FairnessSettings().config_path)
    metrics = MetricsSettings()
    if args.every is not None and metrics.port:
        from prometheus_client import start_http_server

        start_http_server(metrics.port, addr=metrics.host)
    return check_command(
        clickhouse=ClickHouseSettings(),
        config=config,
        kafka=KafkaSettings(),
        topics=TopicSettings(),
        out=sys.stdout,
        every=args.every,
        stop=_stop_on_signal() if args.every is not None else None,
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

    applied = migrate(ClickHouseSettings(), health_window=SinkSettings().health_window)
    print("applied:", ", ".join(applied) if applied else "nothing, the schema is up to date")
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from schemas.export import SCHEMA_DIR, export

    directory = args.dir or SCHEMA_DIR
    try:
        written = export(directory)
    except OSError as exc:
        raise preflight.PreflightError(
            f"cannot write the schema files to {directory}: {exc.strerror}: check the path"
        ) from exc
    for path in written:
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
            board_port=args.board_port,
            board_seconds=args.board_seconds,
        )
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"needs a UTC offset, e.g. {text}Z")
    return moment


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
    parser.add_argument(
        "--tier-blind",
        choices=[cp.value for cp in ContactPoint],
        default=None,
        help="departments serve strategic accounts better, except this one (treatment-gap demo)",
    )


def _add_fairness_commands(
    command: Callable[..., argparse.ArgumentParser],
    account_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``kam accounts review`` and ``kam fairness check`` (issue 13)."""
    kafka: tuple[Check, ...] = (_broker,)
    account_review = command(
        "review",
        _accounts_review,
        "rank accounts by reciprocity: poor strategic ones, key/standard candidates",
        account_commands,
        needs=(_fairness, _tiering, _clickhouse, *kafka),
    )
    account_review.add_argument(
        "--horizon-days", type=_positive, default=None, help="days before --end (default: file)"
    )
    account_review.add_argument(
        "--end", type=_moment, default=None, help="end of the horizon, ISO 8601 with offset"
    )

    fairness = command("fairness", None, "are strategic accounts really served better")
    fairness_commands = fairness.add_subparsers(dest="fairness_command", required=True)
    check = command(
        "check",
        _fairness_check,
        "judge the treatment-gap rules and publish their alerts",
        fairness_commands,
        needs=(_fairness, _clickhouse, *kafka),
    )
    check.add_argument(
        "--every", type=_seconds, default=None, help="run again every this many s until SIGTERM"
    )


def _add_demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--duration", type=float, default=30.0, help="seconds of events")
    demo.add_argument("--rate", type=float, default=200.0, help="events/s")
    demo.add_argument("--accounts", type=int, default=60, help="number of accounts")
    demo.add_argument("--seed", type=int, default=7, help="simulation seed")
    demo.add_argument("--workdir", type=Path, default=Path(".kam/demo"), help="demo data")
    demo.add_argument("--board-port", type=int, default=0, help="the board's port (0: free)")
    demo.add_argument(
        "--board-seconds",
        type=float,
        default=3.0,
        help="how long the board stays up without a terminal (with one: until Enter)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kam", description="KAM Pulse: real-time key-account customer experience."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        handler: Command | None,
        help_text: str,
        group: argparse._SubParsersAction[argparse.ArgumentParser] | None = None,
        *,
        needs: tuple[Check, ...] = (),
        service: bool = False,
    ) -> argparse.ArgumentParser:
        sub = (group or commands).add_parser(name, help=help_text, description=help_text)
        if handler is not None:
            sub.set_defaults(handler=handler, needs=needs, service=service, name=sub.prog)
        return sub

    kafka: tuple[Check, ...] = (_broker,)
    command(
        "worker",
        _worker,
        "run a stream worker (Faust) until SIGTERM",
        needs=(_alert_rules, _kpi_config, *kafka),
        service=True,
    )
    command(
        "sink",
        _sink,
        "run the ClickHouse sink until SIGTERM",
        needs=(_clickhouse, *kafka),
        service=True,
    )
    command(
        "notify",
        _notify,
        "run the alert notifier until SIGTERM",
        needs=(_routing, *kafka),
        service=True,
    )
    board = command(
        "board",
        _board,
        "serve the account health board (portfolio and account pages) until SIGTERM",
        needs=(_alert_rules, _kpi_config, _tiering, _clickhouse),
        service=True,
    )
    board.add_argument(
        "--hash-password",
        action="store_true",
        help="print the scrypt hash of a password read from stdin (for KAM_BOARD_USERS)",
    )
    command("topics", _topics, "create the pipeline's topics if they do not exist", needs=kafka)
    schemas = command("schemas", _schemas, "write the JSON Schema files of the event catalogue")
    schemas.add_argument("--dir", type=Path, default=None, help="where (default: schemas/json)")

    demo = command(
        "demo",
        _demo,
        "run the whole pipeline on a local broker and summarise it",
        needs=(_alert_rules, _kpi_config, _clickhouse, _external_broker),
        service=True,
    )
    _add_demo_arguments(demo)

    _add_simulation_arguments(
        command(
            "simulate",
            _simulate,
            "publish simulated accounts and touchpoints at a target rate",
            needs=kafka,
        )
    )
    publish = command(
        "publish",
        _publish,
        "publish touchpoints from JSON lines (FILE or -)",
        needs=(_input_file, *kafka),
    )
    publish.add_argument("file", help="JSON lines file, - for stdin")
    backfill = command(
        "backfill",
        _backfill,
        "publish a file of historical touchpoints (any order) in acknowledged, resumable chunks",
        needs=(_input_file, _kpi_config, *kafka),
    )
    backfill.add_argument("file", help="JSON lines file (as for publish), - for stdin")
    backfill.add_argument(
        "--chunk-lines", type=_positive, default=5_000, help="lines acknowledged per checkpoint"
    )
    backfill.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=Path(".kam/backfill"),
        help="where progress is kept per file, topic and cluster",
    )
    backfill.add_argument(
        "--again", action="store_true", help="publish a file already backfilled once more"
    )

    accounts = command("accounts", None, "account master data and strategic tiering")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    load = command(
        "load",
        _accounts_load,
        "tier and publish accounts from CSV or JSON lines",
        account_commands,
        needs=(_input_file, _tiering, *kafka),
    )
    load.add_argument("file", type=Path, help="CSV or JSON lines file")
    load.add_argument("--format", choices=("auto", "csv", "jsonl"), default="auto")
    load.add_argument("--dry-run", action="store_true", help="validate and tier, publish nothing")
    explain = command(
        "explain",
        _accounts_explain,
        "why an account has its tier",
        account_commands,
        needs=(_tiering, *kafka),
    )
    explain.add_argument("account_id")
    _add_fairness_commands(command, account_commands)

    alerts = command("alerts", None, "alert snoozes")
    alert_commands = alerts.add_subparsers(dest="alerts_command", required=True)
    add_snooze_arguments(
        command(
            "snooze",
            _alerts_snooze,
            "silence an account or one rule until a time, with a reason",
            alert_commands,
            needs=kafka,
        )
    )
    add_unsnooze_arguments(
        command("unsnooze", _alerts_unsnooze, "lift a snooze now", alert_commands, needs=kafka)
    )

    sql = command(
        "sql",
        _sql,
        "run SQL on the configured ClickHouse (also while running)",
        needs=(_clickhouse,),
    )
    sql.add_argument("query")
    sql.add_argument("--format", default="PrettyCompactMonoBlock", help="ClickHouse format")
    database = command("db", None, "ClickHouse schema")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    command(
        "migrate", _db_migrate, "apply pending migrations", database_commands, needs=(_clickhouse,)
    )
    command(
        "ingest",
        _ingest,
        "serve HTTP ingest (touchpoints, Zendesk and Stripe webhooks) until SIGTERM",
        needs=(_ingest_config, *kafka),
        service=True,
    )
    token = command(
        "ingest-token",
        _ingest_token,
        "make a bearer token for kam ingest and the hashed line that configures it",
    )
    token.add_argument("source_system", help="the source system the token speaks for")
    return parser


def _setting_error(error: ValidationError) -> str | None:
    """One line naming the environment variable a settings class refused (else ``None``)."""
    from pydantic_settings import BaseSettings

    from kam import settings

    model: Any = getattr(settings, error.title, None)
    if not (isinstance(model, type) and issubclass(model, BaseSettings)):
        return None
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    prefix = model.model_config.get("env_prefix", "")
    return f"invalid environment variable {prefix}{field.upper()}: {first['msg']}: fix or unset it"


def _run(args: argparse.Namespace) -> int:
    for check in args.needs:
        check(args)
    if args.service and not args.verbose:
        LIBRDKAFKA_LOG.setLevel(logging.WARNING)  # the cluster answers: its warnings matter now
    handler: Command = args.handler
    return handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    name = "kam"
    try:
        args, unknown = build_parser().parse_known_args(argv)
        name = args.name
        if unknown:
            raise UsageError(name, f"unrecognized arguments: {' '.join(unknown)}")
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # Until the cluster is known to answer, librdkafka's connection failures are noise:
        # the preflight check reports them as one sentence.
        LIBRDKAFKA_LOG.setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
        return _run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # every failure is one line; the traceback under --debug
        if debug:
            traceback.print_exc()
        name = error.prog if isinstance(error, UsageError) else name
        print(f"{name}: {_describe(error, debug)}", file=sys.stderr)
        return EXIT_ERROR


def _describe(error: BaseException, debug: bool) -> str:
    if isinstance(error, KamError):
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, ValidationError) and (line := _setting_error(error)):
        return line
    hint = "" if debug else " (run with --debug for the traceback)"
    return f"unexpected {type(error).__name__}: {error}{hint}"


if __name__ == "__main__":
    sys.exit(main())

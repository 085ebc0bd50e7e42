"""``kam demo``: the whole pipeline on this machine, then what happened, read back from ClickHouse.

Starts a local Kafka broker and a local Alertmanager, runs the stream worker, the ClickHouse sink
(embedded chdb), the notifier and the HTTP ingest as real processes, publishes simulated accounts
and touchpoints, has a simulated helpdesk post its tickets of the key accounts as signed Zendesk
webhooks to ``kam ingest``, waits until every record has landed and prints a summary. Then it
serves the account health board on the same data (through the sink's SQL endpoint) until Enter
is pressed, or for ``board_seconds`` when stdin is not a terminal (CI, tests), and stops
everything.
"""

from __future__ import annotations

import io
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from kam.errors import KamError
from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.localkafka import free_port, local_kafka
from kam.processes import ServiceProcess
from kam.settings import (
    AlertingSettings,
    BoardSettings,
    ClickHouseSettings,
    FairnessSettings,
    KafkaSettings,
    KpiSettings,
    TieringSettings,
    TopicSettings,
)
from producers import TouchpointPublisher
from producers.ingest import client, helpdesk
from producers.scenarios import (
    BEHAVES_STRATEGIC,
    COSTS_MORE_THAN_IT_GIVES,
    AccountBehaviour,
    tiers_ignored_by,
)
from producers.simulation import simulate
from producers.simulator import SimulationConfig, simulated_accounts
from producers.tiering import load_tiering_config
from schemas import AccountTier, ContactPoint
from sinks import run_sql
from sinks.fairness import load_fairness_config
from sinks.fairness.commands import check_once, clickhouse_query, review_text, tier_decisions
from sinks.notify.local import RecordingServer, local_alertmanager

DEMO_ROUTING = Path("config/routing-demo.toml")
DEMO_INBOX_SECRET = "demo-signing-secret"
DEMO_ZENDESK_SECRET = "demo-zendesk-signing-secret"
SUMMARY_QUERIES = {
    "Touchpoints by contact point and account tier": """
        SELECT contact_point, tier, count() AS events,
               countIf(bad_experience IS NOT NULL) AS bad_experiences
        FROM {db}.touchpoints GROUP BY contact_point, tier ORDER BY contact_point, tier""",
    "Invalid messages (dead letters), by failure type": """
        SELECT failure_type, count() AS messages, substring(any(detail), 1, 70) AS example
        FROM {db}.failed_events GROUP BY failure_type ORDER BY messages DESC""",
    "Alerts raised, by contact point and rule": """
        SELECT contact_point, rule, uniqExact(alert_key) AS alerts, count() AS states
        FROM {db}.alerts GROUP BY contact_point, rule
        ORDER BY alerts DESC, rule, contact_point LIMIT 12""",
    "Most affected strategic and key accounts": """
        SELECT account_name, tier, kam_owner,
               countIf(bad_experience IS NOT NULL) AS bad_experiences, count() AS events,
               groupUniqArrayIf(contact_point, bad_experience IS NOT NULL) AS where_bad
        FROM {db}.touchpoints WHERE tier IN ('strategic', 'key')
        GROUP BY account_name, tier, kam_owner
        ORDER BY bad_experiences DESC, account_name, tier, kam_owner LIMIT 8""",
    "Treatment gap over 7 days: strategic vs standard accounts (gap > 0: strategic served better)":
    """
        SELECT contact_point, kpi, round(strategic_value, 3) AS strategic,
               round(key_value, 3) AS key, round(standard_value, 3) AS standard,
               round(gap, 3) AS gap
        FROM {db}.treatment_gap
        WHERE window = '7d' AND kpi IN ('first_response_minutes_p90', 'sla_attainment', 'otif',
                                        'dispute_rate', 'experience_score')
        ORDER BY contact_point, kpi""",
}
CHAIN_QUERY = """
    SELECT account_name, order_id, status, departments, substring(summary, 1, 160) AS chain
    FROM {db}.incident_chains ORDER BY departments DESC, started_at, alert_key LIMIT 5"""
"""The incident chains of the summary: orders gone wrong across departments."""
ORDER_CHAINS = 0.5
"""Share of the bad events of strategic and key accounts that name a troubled order."""
TIER_BLIND = ContactPoint.SUPPORT
"""The department of the demo that ignores tiers: the treatment gap shows it."""


class DemoError(KamError):
    """The demo could not complete (a service died or data did not arrive in time)."""


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    duration: float = 30.0
    rate: float = 200.0
    accounts: int = 60
    seed: int = 7
    workdir: Path = Path(".kam/demo")
    settle_timeout: float = 120.0
    board_port: int = 0
    """Port of the demo's board (0: a free one)."""
    board_seconds: float = 3.0
    """How long the board stays up when stdin is not a terminal (with one, until Enter)."""


def _wait(
    condition: Callable[[], bool], *, services: list[ServiceProcess], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for service in services:
            if not service.running():
                raise DemoError(f"the {service.name} stopped:\n{service.log_tail()}")
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _count(clickhouse: ClickHouseSettings, table: str, where: str = "1") -> int:
    sql = f"SELECT count() FROM {clickhouse.database}.{table} WHERE {where}"
    return int(run_sql(clickhouse, sql, fmt="TSV").strip() or 0)


def demo_behaviour(options: DemoOptions) -> dict[str, AccountBehaviour]:
    """The first strategic account gives back too little; the last standard one behaves like a
    strategic account: the tier review finds both."""
    accounts = simulated_accounts(SimulationConfig(seed=options.seed, accounts=options.accounts))
    strategic = [a.account_id for a in accounts if a.tier is AccountTier.STRATEGIC]
    standard = [a.account_id for a in accounts if a.tier is AccountTier.STANDARD]
    planted = {}
    if strategic:
        planted[strategic[0]] = COSTS_MORE_THAN_IT_GIVES
    if standard:
        planted[standard[-1]] = BEHAVES_STRATEGIC
    return planted


def _fairness(
    clickhouse: ClickHouseSettings, kafka: KafkaSettings, topics: TopicSettings,
    services: list[ServiceProcess], timeout: float,
) -> tuple[str, str]:  # fmt: skip
    """Judge the treatment-gap rules (their alerts go through the running sink and notifier)
    and review the tiers, while the services run; the two reports as text."""
    config = load_fairness_config(FairnessSettings().config_path)
    query, now = clickhouse_query(clickhouse), datetime.now(UTC)
    out = io.StringIO()
    published = check_once(query=query, database=clickhouse.database, config=config,
                           kafka=kafka, topics=topics, now=now, out=out)  # fmt: skip
    account = config.treatment_gap.alerts.account_id
    _wait(
        lambda: _count(clickhouse, "alerts", f"account_id = '{account}'") >= len(published),
        services=services, timeout=timeout, what="the treatment-gap alerts to reach ClickHouse",
    )  # fmt: skip
    decisions = tier_decisions(kafka, topics, load_tiering_config(TieringSettings().config_path))
    review = review_text(query, clickhouse.database, config.review, end=now, decisions=decisions)
    return out.getvalue(), review


def _key_account_ids(options: DemoOptions) -> list[str]:
    """The strategic and key accounts: the simulated helpdesk's Zendesk organizations."""
    accounts = simulated_accounts(SimulationConfig(seed=options.seed, accounts=options.accounts))
    return [a.account_id for a in accounts if a.tier.value != "standard"]


def _post_helpdesk_webhooks(base_url: str, options: DemoOptions) -> tuple[int, int]:
    """The simulated helpdesk's signed Zendesk webhooks: (posted, stored as touchpoints)."""
    bodies = helpdesk.ticket_webhooks(
        _key_account_ids(options), now=datetime.now(UTC), seed=options.seed
    )
    stored = 0
    for body in bodies:
        status, answer = client.post_zendesk(base_url, DEMO_ZENDESK_SECRET, body)
        if status != 200:
            raise DemoError(f"kam ingest answered {status} to a Zendesk webhook: {answer}")
        stored += int(answer.get("accepted", 0))
    return len(bodies), stored


def _publish_accounts(kafka: KafkaSettings, topics: TopicSettings, options: DemoOptions) -> None:

    accounts = simulated_accounts(SimulationConfig(seed=options.seed, accounts=options.accounts))
    with TouchpointPublisher(kafka=kafka, topics=topics) as publisher:
        for account in accounts:
            publisher.publish_account(account)
        failures = publisher.flush()
    if failures:
        raise DemoError(f"{len(failures)} accounts were not delivered: {failures[0]}")


def run_demo(options: DemoOptions) -> int:
    """Run the demo end to end; 0 when everything published landed where it should."""

    shutil.rmtree(options.workdir, ignore_errors=True)
    options.workdir.mkdir(parents=True)
    clickhouse = ClickHouseSettings(chdb_path=options.workdir / "chdb")
    board_settings = BoardSettings(port=options.board_port or free_port())
    with ExitStack() as stack:
        print("Starting a local Kafka broker and Alertmanager ...", flush=True)
        bootstrap = stack.enter_context(local_kafka())
        alertmanager = stack.enter_context(local_alertmanager())
        inbox = stack.enter_context(RecordingServer())
        kafka, topics = KafkaSettings(bootstrap_servers=bootstrap), TopicSettings()
        ensure_topics(kafka, pipeline_topics(topics))
        account_map = options.workdir / "zendesk-accounts.toml"
        account_map.write_text(helpdesk.account_map_toml(_key_account_ids(options)))
        ingest_url = f"http://127.0.0.1:{free_port()}"
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CLICKHOUSE_CHDB_PATH": str(clickhouse.chdb_path),
            "KAM_WORKER_DATA_DIR": str(options.workdir / "worker"),
            "KAM_WORKER_LOG_LEVEL": "warn",
            "KAM_NOTIFY_CONFIG_PATH": str(DEMO_ROUTING),
            "KAM_NOTIFY_ALERTMANAGER_URL": alertmanager,
            "KAM_NOTIFY_INBOX_URL": inbox.url,
            "KAM_NOTIFY_INBOX_SECRET": DEMO_INBOX_SECRET,
            "KAM_BOARD_PUBLIC_URL": board_settings.base_url(),
            "KAM_INGEST_PORT": ingest_url.rsplit(":", 1)[1],
            "KAM_INGEST_ZENDESK_SECRET": DEMO_ZENDESK_SECRET,
            "KAM_INGEST_ACCOUNT_MAP_PATH": str(account_map),
        }
        services = [
            stack.enter_context(
                ServiceProcess(
                    command=[name],
                    env=env,
                    log_path=options.workdir / "logs" / f"{name}.log",
                    name=name,
                    metrics_port=free_port(),
                )
            )
            for name in ("worker", "sink", "notify", "ingest")
        ]
        worker = services[0]
        print(
            f"Services running (logs in {options.workdir / 'logs'}); publishing "
            f"{options.accounts} accounts ...",
            flush=True,
        )
        _publish_accounts(kafka, topics, options)
        _wait(
            lambda: worker.metric("kam_worker_account_updates_total") >= options.accounts,
            services=services,
            timeout=options.settle_timeout,
            what="the worker to load the accounts",
        )
        print(f"... and {options.rate:g} touchpoints/s for {options.duration:g}s", flush=True)
        report = simulate(
            kafka=kafka,
            topics=topics,
            seed=options.seed,
            accounts=options.accounts,
            rate=options.rate,
            duration=options.duration,
            bad_probability=0.04,
            invalid_fraction=0.01,
            tier_service=tiers_ignored_by(TIER_BLIND),
            behaviour=demo_behaviour(options),
            order_chains=ORDER_CHAINS,
            publish_accounts=False,
        )
        print(
            f"Published {report.events} touchpoints ({report.bad_experiences} bad experiences) "
            f"and {report.invalid} invalid messages at {report.achieved_rate:.0f}/s",
            flush=True,
        )
        _wait(
            lambda: client.healthy(ingest_url),
            services=services,
            timeout=options.settle_timeout,
            what="kam ingest to serve",
        )
        posted, via_http = _post_helpdesk_webhooks(ingest_url, options)
        print(
            f"The simulated helpdesk posted {posted} signed Zendesk webhooks to kam ingest: "
            f"{via_http} touchpoints stored",
            flush=True,
        )
        _wait(
            lambda: (
                _count(clickhouse, "touchpoints") >= report.events + via_http
                and _count(clickhouse, "failed_events") >= report.invalid
            ),
            services=services,
            timeout=options.settle_timeout,
            what="every touchpoint and dead letter to reach ClickHouse",
        )
        gaps, review = _fairness(clickhouse, kafka, topics, services, options.settle_timeout)
        time.sleep(5)  # the notifier's grouping window
        for service in services:
            if service.name != "sink":
                service.stop()  # the sink stays: it answers the board's and the summary's SQL
        notifications = inbox.requests
        shown = _alertmanager_alerts(alertmanager)
        _summary(clickhouse, notifications, shown, fairness=(gaps, review))
        _offer_board(board_settings, clickhouse=clickhouse, kafka=kafka, topics=topics,
                     notifications=notifications, options=options)
    print(
        f"\nExplore the data: CLICKHOUSE_CHDB_PATH={clickhouse.chdb_path} "
        ".venv/bin/kam sql 'SELECT * FROM kam.alerts LIMIT 5'"
    )
    return 0


def _summary(
    clickhouse: ClickHouseSettings,
    notifications: list[Any],
    shown: int,
    *,
    fairness: tuple[str, str],
) -> None:
    gaps, review = fairness
    print()
    for title, sql in SUMMARY_QUERIES.items():
        print(f"== {title}")
        print(run_sql(clickhouse, sql.format(db=clickhouse.database)), flush=True)
    print(f"== Treatment-gap rules ({TIER_BLIND.value} ignores tiers in this simulation)")
    print(gaps)
    print("== Tier review (kam accounts review)")
    print(review)
    print("== Incident chains: one order gone wrong in several departments (kam.incident_chains)")
    print(run_sql(clickhouse, CHAIN_QUERY.format(db=clickhouse.database)), flush=True)
    print(
        f"== Alerting: {len(notifications)} signed notifications reached the account-team "
        f"inbox; Alertmanager showed {shown} active KAM alerts."
    )
    for request in notifications[:3]:
        print("  -", orjson.loads(request.body).get("title", request.body[:120]))


def _offer_board(
    settings: BoardSettings,
    *,
    clickhouse: ClickHouseSettings,
    kafka: KafkaSettings,
    topics: TopicSettings,
    notifications: list[Any],
    options: DemoOptions,
) -> None:
    """Serve the board until Enter (or ``options.board_seconds`` without a terminal)."""
    from sinks.board.server import BoardServer, board_context  # noqa: PLC0415 - web stack

    board = board_context(
        settings=settings,
        clickhouse=clickhouse,
        kafka=kafka,
        topics=topics,
        kpi_config_path=KpiSettings().config_path,
        alert_rules_path=AlertingSettings().rules_path,
        tiering_path=TieringSettings().config_path,
    )
    with BoardServer(board) as server:
        with urllib.request.urlopen(server.url + "/", timeout=30) as response:
            page = response.read().decode()
        shown = page.count('<tr data-account="')
        print(f"\n== Account health board: {server.url}/ ({shown} strategic and key accounts)")
        links = [
            alert.get("account_url")
            for request in notifications
            for alert in orjson.loads(request.body).get("alerts", [])
        ]
        if links and links[0]:
            print(f"   every alert links to its account page, e.g. {links[0]}")
        if sys.stdin.isatty():
            with suppress(EOFError):
                input("   Press Enter to stop the board and the demo ... ")
        else:
            print(f"   (no terminal: the board stays up {options.board_seconds:g}s)", flush=True)
            time.sleep(options.board_seconds)


def _alertmanager_alerts(base_url: str) -> int:

    with urllib.request.urlopen(f"{base_url}/api/v2/alerts", timeout=5) as response:
        return len(orjson.loads(response.read()))

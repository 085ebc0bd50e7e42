"""Configuration: one frozen pydantic-settings model per concern, read from the environment.

Nothing here reads the environment at import time; each service builds its settings in
``main()``. Secrets are ``SecretStr`` and never appear in ``repr`` or logs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(BaseSettings):
    """Connection to the Kafka cluster (``KAFKA_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long ``kam`` commands wait for the cluster before saying it is unreachable."""

    def confluent_config(self) -> dict[str, Any]:
        """librdkafka properties for confluent-kafka clients.

        librdkafka's own log lines go to the Python logger ``librdkafka`` (not raw to stderr).
        """
        config: dict[str, Any] = {
            "logger": logging.getLogger("librdkafka"),
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        optional_files = {
            "ssl.ca.location": self.ssl_cafile,
            "ssl.certificate.location": self.ssl_certfile,
            "ssl.key.location": self.ssl_keyfile,
        }
        config.update({key: str(path) for key, path in optional_files.items() if path})
        return config


class TopicSettings(BaseSettings):
    """Topic names and partition count (``KAM_TOPIC_*``). All keyed topics share one count."""

    model_config = SettingsConfigDict(env_prefix="KAM_TOPIC_", frozen=True, extra="ignore")

    touchpoints: str = "kam.touchpoints"
    accounts: str = "kam.accounts"
    enriched: str = "kam.touchpoints.enriched"
    deadletter: str = "kam.touchpoints.deadletter"
    alerts: str = "kam.alerts"
    kpis: str = "kam.kpis"
    undeliverable: str = "kam.notifications.undeliverable"
    snoozes: str = "kam.alerts.snoozes"
    account_status: str = "kam.account-status"
    partitions: int = Field(default=4, ge=1)


ClickHouseDeployment = Literal["single", "cluster", "cloud"]


class ClickHouseSettings(BaseSettings):
    """Where analytics land (``CLICKHOUSE_*``).

    With ``CLICKHOUSE_HOST`` set, a ClickHouse server is used through clickhouse-connect;
    otherwise the embedded chdb engine stores its data under ``CLICKHOUSE_CHDB_PATH``.
    ``CLICKHOUSE_DEPLOYMENT`` says what the server is, and so how the migrations render the
    same SQL files (:func:`sinks.migrate.render`) and how the sink reads and writes.
    """

    model_config = SettingsConfigDict(env_prefix="CLICKHOUSE_", frozen=True, extra="ignore")

    host: str | None = None
    port: int | None = None
    username: str = "default"
    password: SecretStr = SecretStr("")
    database: str = "kam"
    secure: bool = False
    ca_cert: Path | None = None
    chdb_path: Path = Path(".kam/chdb")
    deployment: ClickHouseDeployment = "single"
    """``single``: one server, or embedded chdb (plain MergeTree tables). ``cluster``: a
    self-managed cluster of replicas coordinated by ClickHouse Keeper: every DDL statement runs
    ``ON CLUSTER`` :attr:`cluster` and tables use ``Replicated*MergeTree`` engines. ``cloud``:
    ClickHouse Cloud (no ``ON CLUSTER``: Cloud replicates DDL and makes every MergeTree a
    SharedMergeTree itself; TLS only)."""
    cluster: str | None = Field(default=None, validate_default=True)
    """Cluster name from the servers' ``remote_servers`` (or a macro such as ``{cluster}``);
    required with, and only used by, ``CLICKHOUSE_DEPLOYMENT=cluster``."""
    replica_path: str = "/clickhouse/tables/{shard}/{database}/{table}"
    """Keeper path of each replicated table; ClickHouse expands the macros on each server."""
    replica_name: str = "{replica}"
    """Replica name of each replicated table (the server's ``{replica}`` macro)."""

    @field_validator("deployment")
    @classmethod
    def _deployment_needs_a_server(
        cls, deployment: ClickHouseDeployment, info: ValidationInfo
    ) -> ClickHouseDeployment:
        if deployment != "single" and not info.data.get("host"):
            raise ValueError(
                f"a {deployment} deployment needs a ClickHouse server: set CLICKHOUSE_HOST (chdb"
                " is one process on one host)"
            )
        if deployment == "cloud" and not info.data.get("secure"):
            raise ValueError(
                "ClickHouse Cloud is served over TLS only: set CLICKHOUSE_SECURE=true (port"
                " 8443)"
            )
        return deployment

    @field_validator("cluster")
    @classmethod
    def _cluster_with_cluster_deployment(
        cls, cluster: str | None, info: ValidationInfo
    ) -> str | None:
        deployment = info.data.get("deployment")
        if deployment is None:  # CLICKHOUSE_DEPLOYMENT itself is invalid: reported on its own
            return cluster
        if deployment == "cluster" and not cluster:
            raise ValueError(
                "CLICKHOUSE_DEPLOYMENT=cluster needs the name of the cluster (remote_servers)"
            )
        if deployment != "cluster" and cluster:
            raise ValueError(
                f"only used with CLICKHOUSE_DEPLOYMENT=cluster, not {deployment}: unset it"
            )
        return cluster

    @property
    def backend(self) -> Literal["server", "chdb"]:
        return "server" if self.host else "chdb"


class MetricsSettings(BaseSettings):
    """Prometheus exposition (``KAM_METRICS_*``); port 0 disables the HTTP endpoint."""

    model_config = SettingsConfigDict(env_prefix="KAM_METRICS_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


class WorkerSettings(BaseSettings):
    """The Faust stream worker (``KAM_WORKER_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_WORKER_", frozen=True, extra="ignore")

    app_id: str = "kam-pulse"
    batch_size: int = Field(default=1000, ge=1)
    batch_max_wait_seconds: float = Field(default=0.05, gt=0)
    max_event_bytes: int = Field(default=64 * 1024, ge=1024)
    max_clock_skew_seconds: float = Field(default=300.0, ge=0)
    data_dir: Path = Path(".kam/faust")
    kpi_interval_seconds: float = Field(default=10.0, gt=0)
    """KPI updates per account x contact point are sent at most this often."""
    kpi_flush_keys: int = Field(default=50, ge=0)
    """A KPI flush computes at most this many account x contact point keys per batch or timer
    slice (about 0.5 ms each), so a flush of thousands of keys is spread over the batches
    instead of stalling the event loop; 0: a whole flush at once."""
    kpi_state_cache_keys: int = Field(default=8192, ge=0)
    """Decoded KPI states kept in memory for keys counted more than once (about 4-9 KiB
    each, so the default holds at most about 60 MiB), used while the state table still holds
    the bytes they were encoded to: a busy key is not decoded again at every batch. 0: every
    state is decoded from the table each time."""
    kpi_flush_seconds: float = Field(default=0.02, ge=0)
    """A KPI flush slice also ends after this many seconds of computing (whichever limit of
    the two comes first, an account's keys still together): a key costs 0.5 ms on a quiet
    core and several times that on a busy one, so a key count alone does not bound the stall.
    0: no time limit."""
    kpi_flush_rest: float = Field(default=1.0, ge=0)
    """Between two timer slices of a KPI flush, the worker rests this many times as long as
    the last slice took, so the consumer and the batches get the loop; 1: a flush takes at
    most half the worker's time. 0: slices back to back."""
    batch_slice_events: int = Field(default=100, ge=0)
    """A batch is processed this many events at a time, the event loop served between two
    slices (its state still written once and before its outputs); 0: a whole batch at once."""
    gc_freeze: bool = True
    """Move the objects alive once the worker has started and recovered its state out of the
    garbage collector's reach (``gc.freeze``): a full collection then no longer walks the
    100k+ objects of the code and the loaded state, a 70-270 ms pause of the event loop."""
    gc_young_threshold: int = Field(default=20_000, ge=0)
    """Allocations between two collections of the youngest generation (Python's default 700):
    a batch's short-lived objects then die before one, instead of surviving into the oldest
    generation and starting full collections every few seconds under load. 0: Python's own."""
    kpi_judge_seconds: float = Field(default=0.0, ge=0)
    """KPI alert rules judge each partition's changed keys when its stream time enters a new
    step of this many seconds, on their states as they stood there: alert states then follow
    from the data alone (crashes, restarts and slow workers change nothing). 0: they judge
    each KPI flush instead, within ``kpi_interval_seconds`` of a change but paced by processing
    time (see docs/alert-rules.md, "The alert clock")."""
    kpi_stream_interval_seconds: float = Field(default=10.0, ge=0)
    """While a partition's events move its stream time (their latest event time; the clock's
    idle advance does not count), its keys get a KPI update at most once per this many seconds
    of it (a backfill: set e.g. 3600); a partition whose events stop moving it is flushed at
    once. 0: no such limit."""
    idle_advance_seconds: float = Field(default=300.0, ge=0)
    """KPI windows end at each partition's stream time: the latest event time seen, but never
    more than this far behind the clock, so windows slide and empty while a partition is quiet
    and events older than the longest window behind it count as too late. 0: event time only
    (deterministic replays of historical data; windows then never slide by themselves)."""
    commit_interval_seconds: float = Field(default=2.8, gt=0)
    """How often consumed offsets are committed: what a crash makes the next owner read again
    (its state already counts those events; their outputs are sent again, dropped by origin)."""
    session_timeout_seconds: float = Field(default=10.0, ge=6)
    """How soon the partitions of a crashed worker move to another (Kafka session timeout)."""
    tick_seconds: float = Field(default=5.0, gt=0)
    """How often alert repeats, quiet-period resolves and pending KPI updates are checked."""
    loop_probe_seconds: float = Field(default=0.05, ge=0)
    """How often the event-loop lag probe wakes up (``kam_worker_event_loop_lag_seconds``,
    ``kam_worker_event_loop_lag_max_seconds``); 0 turns the probe off."""
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    """The worker's asyncio event loop: uvloop (libuv) runs Faust's per-event tasks, futures
    and socket callbacks in C; ``asyncio``: the standard library's loop."""
    web_port: int = Field(default=0, ge=0, le=65535)
    """Faust's own web server; 0 disables it (metrics are served by KAM_METRICS_PORT)."""
    log_level: Literal["crit", "error", "warn", "info", "debug"] = "info"


class SinkSettings(BaseSettings):
    """The ClickHouse sink's batching, retries and query endpoint (``KAM_SINK_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_SINK_", frozen=True, extra="ignore")

    batch_max_rows: int = Field(default=10_000, ge=1)
    batch_max_seconds: float = Field(default=1.0, gt=0)
    health_window: Literal["1h", "24h", "7d", "30d"] = "30d"
    """The KPI window ``account_health_current`` shows (written to ``kam_settings``)."""
    retry_initial_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    query_port: int = Field(default=0, ge=0, le=65535)
    """Port of the read-only SQL endpoint served in chdb mode (0: any free port)."""
    group_id: str = "kam-clickhouse-sink"
    """Kafka consumer group of the sink (``python -m sinks``)."""
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    """How soon a crashed sink's partitions move to another member (Kafka session timeout)."""


class AlertingSettings(BaseSettings):
    """The alert engine (``KAM_ALERTS_*``): where the alert rules file is."""

    model_config = SettingsConfigDict(env_prefix="KAM_ALERTS_", frozen=True, extra="ignore")

    rules_path: Path = Path("config/alert_rules.toml")
    """TOML read by ``streams.alerting.load_alert_rules`` (see docs/alert-rules.md)."""


class NotifierSettings(BaseSettings):
    """The alert notifier (``KAM_NOTIFY_*``): routing file and Kafka consumer group.

    Receiver endpoints and secrets are named by the routing file (``url_env``, ...).
    """

    model_config = SettingsConfigDict(env_prefix="KAM_NOTIFY_", frozen=True, extra="ignore")

    config_path: Path = Path("config/routing.toml")
    """TOML read by ``sinks.notify.load_routing_config`` (see docs/alerting.md)."""
    group_id: str = "kam-notifier"


class KpiSettings(BaseSettings):
    """The rolling KPI engine (``KAM_KPI_*``): an optional JSON file holding a ``KpiConfig``."""

    model_config = SettingsConfigDict(env_prefix="KAM_KPI_", frozen=True, extra="ignore")

    config_path: Path | None = None
    """JSON read by ``streams.kpis.load_kpi_config`` (see docs/kpis.md); defaults when unset."""


class TieringSettings(BaseSettings):
    """Strategic-account tiering (``KAM_TIERING_*``): the weighted-criteria model file."""

    model_config = SettingsConfigDict(env_prefix="KAM_TIERING_", frozen=True, extra="ignore")

    config_path: Path = Path("config/tiering.toml")
    """TOML read by ``producers.tiering.load_tiering_config`` (see docs/tiering.md)."""


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class BoardSettings(BaseSettings):
    """The account health board, ``kam board`` (``KAM_BOARD_*``).

    Login is off only while the board listens on a loopback address and no credentials are
    configured; bound anywhere else it refuses to start without a token or basic-auth users.
    Credentials come from the environment or from files (Kubernetes secrets), never from code:
    the token as is, basic-auth passwords only as scrypt hashes (``kam board --hash-password``).
    """

    model_config = SettingsConfigDict(env_prefix="KAM_BOARD_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=0, le=65535)
    """0: any free port (tests, the demo)."""
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    """Base URL people reach the board at, used in every notification's account link;
    default ``http://HOST:PORT``."""
    token: SecretStr | None = None
    """Bearer token (``Authorization: Bearer ...``, or ``?token=`` once in a browser)."""
    token_file: Path | None = None
    """File holding the token (first line), instead of ``KAM_BOARD_TOKEN``."""
    users: SecretStr | None = None
    """Basic-auth users, ``name:scrypt-hash`` separated by commas or newlines."""
    users_file: Path | None = None
    """File with one ``name:scrypt-hash`` per line (``#`` comments), instead of ``users``."""
    trend_days: int = Field(default=30, ge=2, le=366)
    """Days of the trend sparklines and charts."""
    timeline_limit: int = Field(default=50, ge=1, le=1000)
    """Recent touchpoints and alert states shown on an account page."""
    snooze_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    """How long an account page waits for the snoozes topic before saying it is unavailable."""

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def base_url(self) -> str:
        """Where account links point (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class FairnessSettings(BaseSettings):
    """Treatment-gap rules and the reciprocity review (``KAM_FAIRNESS_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAM_FAIRNESS_", frozen=True, extra="ignore")

    config_path: Path = Path("config/fairness.toml")
    """TOML read by ``sinks.fairness.load_fairness_config`` (docs/alert-rules.md, tiering.md)."""

class IngestSettings(BaseSettings):
    """The HTTP ingest service, ``kam ingest`` (``KAM_INGEST_*``): see docs/ingest.md.

    Bearer tokens are configured as their SHA-256 only (``KAM_INGEST_TOKENS`` or the file
    ``KAM_INGEST_TOKENS_PATH``: one ``<source_system> sha256:<hex>`` per line); the token a
    request carries decides its ``source_system``. Webhook signing secrets are ``SecretStr``.
    """

    model_config = SettingsConfigDict(env_prefix="KAM_INGEST_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=0, le=65535)
    """0: any free port (the chosen one is logged)."""
    tokens: SecretStr | None = None
    """Lines (or ``;``-separated entries) of ``<source_system> sha256:<hex of the token>``."""
    tokens_path: Path | None = None
    """A file with the same lines (``#`` comments allowed)."""
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    """Larger request bodies are refused with 413 before they are read."""
    max_events: int = Field(default=1000, ge=1)
    """More events in one request: 413."""
    max_event_bytes: int = Field(default=64 * 1024, ge=1024)
    """One larger event is rejected as ``oversize`` (the worker's own limit by default)."""
    rate_per_second: float = Field(default=50.0, gt=0)
    """Requests per second per source system, i.e. per token (the tokens of one source system
    share one token bucket); beyond it 429 with ``Retry-After``."""
    rate_burst: int = Field(default=100, ge=1)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    """A body not received within this time: 408 (slow senders cannot hold a connection)."""
    idle_timeout_seconds: float = Field(default=30.0, gt=0)
    """A connection without a complete request head this long after it opened (or after its
    last answer, keep-alive) is closed: headers sent byte by byte cannot hold it either."""
    delivery_timeout_seconds: float = Field(default=15.0, gt=0)
    """How long the broker may take to acknowledge a request's events before the answer is
    503 (librdkafka's ``delivery.timeout.ms`` of the ingest producer)."""
    retry_after_seconds: int = Field(default=5, ge=1)
    """``Retry-After`` of a 503 (broker unreachable)."""
    zendesk_secret: SecretStr | None = None
    """Signing secret of the Zendesk webhook; unset: the Zendesk endpoint answers 404."""
    stripe_secret: SecretStr | None = None
    """Signing secret (``whsec_...``) of the Stripe endpoint; unset: it answers 404."""
    webhook_tolerance_seconds: float = Field(default=300.0, gt=0)
    """A signed webhook whose timestamp is further than this from the clock is refused (401)."""
    account_map_path: Path | None = None
    """TOML mapping vendor ids onto account ids (``[zendesk.organizations]``,
    ``[stripe.customers]``); see docs/ingest.md."""

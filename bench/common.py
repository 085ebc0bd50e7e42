"""What the benchmarks share: results and their table, a worker on fresh topics, Kafka helpers.

Every benchmark measures a ratio to a baseline run side by side in the same run (or an absolute
figure against the project's target) and returns :class:`Result` rows; nothing here asserts a
time. Loads and waits are bounded in count and time; processes started here are always stopped.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from kam.errors import KamError
from kam.kafka_admin import ensure_topics, pipeline_topics
from kam.localkafka import free_port
from kam.processes import ServiceProcess
from kam.settings import KafkaSettings, TopicSettings
from streams.pipeline import TouchpointProcessor
from streams.replay import apply_state
from streams.validation import SourceRecord

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
PARTITIONS = 4
Direction = Literal["at_least", "at_most"]
FAUST_BASELINE = [sys.executable, "-m", "bench.faust_baseline"]
"""The do-nothing Faust agent (:mod:`bench.faust_baseline`) as a program."""
FAUST_BASELINE_COUNTER = "kam_bench_faust_events_total"
"""Events the do-nothing agent took."""


class BenchError(KamError):
    """A benchmark could not complete (a wait timed out or a process died)."""


@dataclass(frozen=True, kw_only=True)
class Result:
    """One row of the summary table.

    With ``compare="ratio"`` the target bounds ``measured / baseline``; with ``"value"`` it
    bounds ``measured`` itself (the baseline is then context, such as an idle worker's RSS).
    """

    metric: str
    measured: float
    unit: str
    baseline: float | None = None
    target: float | None = None
    direction: Direction = "at_least"
    compare: Literal["ratio", "value"] = "ratio"

    @property
    def ratio(self) -> float | None:
        return self.measured / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        checked = self.ratio if self.compare == "ratio" else self.measured
        if self.target is None or checked is None:
            return None
        return checked >= self.target if self.direction == "at_least" else checked <= self.target

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        sign = ">=" if self.direction == "at_least" else "<="
        unit = "x" if self.compare == "ratio" else f" {self.unit}"
        return f"{sign} {self.target:g}{unit}"


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


def format_table(results: Sequence[Result]) -> str:
    """The summary table: metric, measured, baseline, ratio, target, met?"""
    header = ("metric", "measured", "baseline", "ratio", "target", "met?")
    rows = [
        (
            r.metric,
            _number(r.measured, r.unit),
            _number(r.baseline, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.2f}x" if r.ratio >= 0.1 else f"{r.ratio:.1e}x",
            r.target_text(),
            {True: "yes", False: "NO", None: "-"}[r.met],
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    rule = "  ".join("-" * w for w in widths)
    head = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([head, rule, *lines])


CRASH_MARK = b"Crashed reason="
"""What Faust logs when an agent dies; its supervisor restarts it, so the process lives on."""
_log_offsets: dict[Path, int] = {}


def check_alive(process: ServiceProcess) -> None:
    """:class:`BenchError` when the process exited or logged an agent crash since last checked."""
    if not process.running():
        raise BenchError(f"{process.name} exited:\n{process.log_tail()}")
    offset = _log_offsets.get(process.log_path, 0)
    with process.log_path.open("rb") as log:
        log.seek(offset)
        fresh = log.read()
    _log_offsets[process.log_path] = offset + len(fresh)
    if CRASH_MARK in fresh:
        line = fresh[fresh.index(CRASH_MARK) :].split(b"\n", 1)[0].decode(errors="replace")
        raise BenchError(f"{process.name}: an agent crashed ({line}), see {process.log_path}")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    alive: Sequence[ServiceProcess] = (),
    interval: float = 0.1,
) -> T:
    """Poll ``condition`` until truthy; :class:`BenchError` after ``timeout`` or a dead process."""
    deadline = time.monotonic() + timeout
    while True:
        for process in alive:
            check_alive(process)
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def kafka_producer(kafka: KafkaSettings, **extra: str | int) -> Producer:
    """A producer with the Java-compatible partitioner, as source systems must use."""
    return Producer({**kafka.confluent_config(), "partitioner": "murmur2_random", **extra})


def produce_one(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes,
    on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
) -> None:
    """Publish one record, waiting for room when the producer's local queue is full."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)


def produce_all(
    producer: Producer, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> None:
    """Publish every record, then wait until the broker has all of them."""
    for key, value in records:
        produce_one(producer, topic, key, value)
        producer.poll(0)
    if producer.flush(60) != 0:
        raise BenchError(f"records to {topic} not delivered within 60 s")


class TopicSize:
    """Records in a topic (sum of its partitions' high watermarks), through one open client."""

    def __init__(self, *, kafka: KafkaSettings, topic: str, partitions: int = PARTITIONS) -> None:
        self.topic = topic
        self.partitions = partitions
        self._consumer = Consumer({**kafka.confluent_config(), "group.id": "kam-bench-sizer"})

    def records(self) -> int:
        return sum(
            self._consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
            for p in range(self.partitions)
        )

    def close(self) -> None:
        self._consumer.close()


def assigned_consumer(kafka: KafkaSettings, topic: str, partitions: int = PARTITIONS) -> Consumer:
    """A group-less consumer assigned every partition of ``topic`` from the beginning."""
    consumer = Consumer(
        {
            **kafka.confluent_config(),
            "group.id": f"kam-bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    return consumer


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, all its threads (``/proc/<pid>/stat``).

    Unlike a rate, CPU time per event hardly moves with the machine's load: it compares
    processes measured at different moments of a shared machine.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listener_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` of this machine (e.g. the local broker), found by
    its socket's inode in ``/proc/net/tcp*`` and the processes' descriptors; ``None`` if none
    of ours."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
    return None


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for process {pid}")


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """Fresh topics, group and data directory for one benchmark, and its worker processes."""

    kafka: KafkaSettings
    topics: TopicSettings
    workdir: Path
    env: dict[str, str]

    def worker(self, *, name: str = "worker") -> ServiceProcess:
        """A ``kam worker`` process with its own metrics port (not started yet)."""
        return self._process(name, command=["worker"])

    def faust_baseline(self, *, name: str = "faust-baseline") -> ServiceProcess:
        """The do-nothing Faust agent (:mod:`bench.faust_baseline`) on this pipeline's
        touchpoints, as its own consumer group (not started yet)."""
        app_id = f"{self.env['KAM_WORKER_APP_ID']}-{name}"
        return self._process(name, program=FAUST_BASELINE, env={"KAM_WORKER_APP_ID": app_id})

    def _process(
        self,
        name: str,
        *,
        command: list[str] | None = None,
        program: list[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ServiceProcess:
        return ServiceProcess(
            command=command or [],
            program=program,
            env={**self.env, "KAM_WORKER_DATA_DIR": str(self.workdir / name), **(env or {})},
            log_path=self.workdir / "logs" / f"{name}.log",
            name=name,
            metrics_port=free_port(),
        )


def new_pipeline(
    *,
    bootstrap: str,
    workdir: Path,
    label: str,
    topic_config: Mapping[str, Mapping[str, str]] | None = None,
) -> Pipeline:
    """Create a fresh set of pipeline topics; ``topic_config`` adds configs by topic role.

    For example ``{"alerts": {"message.timestamp.type": "LogAppendTime"}}``.
    """
    suffix = uuid.uuid4().hex[:8]
    names: dict[str, Any] = {
        name: f"bench-{label}-{suffix}.{name}"
        for name, info in TopicSettings.model_fields.items()
        if info.annotation is str
    }
    topics = TopicSettings(**names, partitions=PARTITIONS)
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    extra = {names[role]: dict(config) for role, config in (topic_config or {}).items()}
    wanted = [
        NewTopic(t.topic, num_partitions=t.num_partitions, replication_factor=1,
                 config={**(t.config or {}), **extra.get(t.topic, {})})
        for t in pipeline_topics(topics)
    ]  # fmt: skip
    ensure_topics(kafka, wanted)
    env = {f"KAM_TOPIC_{key.upper()}": value for key, value in names.items()}
    env |= {
        "KAM_TOPIC_PARTITIONS": str(PARTITIONS),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAM_WORKER_APP_ID": f"kam-bench-{label}-{suffix}",
        "KAM_ALERTS_RULES_PATH": str(REPO / "config" / "alert_rules.toml"),
        "CLICKHOUSE_CHDB_PATH": str(workdir / "chdb"),
    }
    # Its own directory (logs, worker data): a run's shutdown is never read as the next one's.
    return Pipeline(kafka=kafka, topics=topics, workdir=workdir / f"{label}-{suffix}", env=env)


@contextmanager
def running(process: ServiceProcess) -> Iterator[ServiceProcess]:
    """Start ``process`` and always stop it when the block ends."""
    process.start()
    try:
        yield process
    finally:
        process.stop()


def load_accounts(
    pipeline: Pipeline, worker: ServiceProcess, records: Sequence[tuple[bytes, bytes]]
) -> None:
    """Publish account records and wait until the worker has applied all of them."""
    metric = "kam_worker_account_updates_total"
    expected = worker.metric(metric) + len(records)
    produce_all(kafka_producer(pipeline.kafka), pipeline.topics.accounts, records)
    wait_until(
        lambda: worker.metric(metric) >= expected,
        timeout=60 + len(records) / 500,
        what=f"the worker to apply {len(records)} accounts",
        alive=[worker],
        interval=0.25,
    )


@dataclass(slots=True)
class Peak:
    """The largest value a metric showed while :func:`peak_of` sampled it."""

    value: float = 0.0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)


@contextmanager
def peak_of(process: ServiceProcess, metric: str, *, every: float = 0.5) -> Iterator[Peak]:
    """Sample ``metric`` of ``process`` every ``every`` seconds in a thread during the block."""
    peak = Peak()

    def sample() -> None:
        while not peak._stop.wait(every):
            peak.value = max(peak.value, process.metric(metric))
            peak.samples += 1

    thread = threading.Thread(target=sample, name=f"peak-{metric}", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        peak._stop.set()
        thread.join()
        peak.value = max(peak.value, process.metric(metric))


@dataclass(frozen=True, slots=True)
class CoreRun:
    """One pass of records through the pure core."""

    seconds: float
    kpi_updates: int
    batches: int

    def rate(self, events: int) -> float:
        return events / self.seconds


def replay_core(
    processor: TouchpointProcessor,
    state: dict[str, bytes],
    records: Sequence[SourceRecord],
    *,
    batch: int,
    now: datetime | None = None,
) -> CoreRun:
    """Feed ``records`` through the pure core ``batch`` at a time, writing each outcome's state
    as the worker writes its table, then one tick; timed from the first batch to the tick.

    ``now`` fixes the clock (a backfill); ``None`` reads it per batch, as the worker does.
    """
    updates = batches = 0
    started = time.perf_counter()
    for first in range(0, len(records), batch):
        outcome = processor.process(records[first : first + batch], now=now or utcnow())
        apply_state(state, outcome)
        updates += len(outcome.kpi_updates)
        batches += 1
    updates += len(processor.tick(now=now or utcnow()).kpi_updates)
    return CoreRun(seconds=time.perf_counter() - started, kpi_updates=updates, batches=batches)


def utcnow() -> datetime:
    return datetime.now(UTC)

"""Start and stop the project's local single-node Kafka broker (``deploy/local/kafka.sh``)."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kam.errors import KamError

KAFKA_SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "local" / "kafka.sh"


class LocalKafkaError(KamError):
    """The local broker could not be fetched or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _script(*args: str) -> str:
    result = subprocess.run([str(KAFKA_SCRIPT), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LocalKafkaError(result.stderr.strip().splitlines()[-1] if result.stderr else "")
    return result.stdout.strip()


@contextmanager
def local_kafka(*, port: int | None = None, directory: Path | None = None) -> Iterator[str]:
    """Run a local broker for the duration of the block and yield its bootstrap address.

    When ``KAFKA_BOOTSTRAP_SERVERS`` is set, that cluster is yielded and nothing is started.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="kam-kafka-") as tmp:
        run_dir = str(directory or Path(tmp))
        bootstrap = _script("start", "--port", str(port or free_port()), "--dir", run_dir)
        try:
            yield bootstrap.splitlines()[-1]
        finally:
            _script("stop", "--dir", run_dir)


def stop_local_kafka(directory: Path) -> None:
    """Stop the broker :func:`local_kafka` runs from ``directory``, keeping its data: a broker
    outage; :func:`restart_local_kafka` brings it back on the same port."""
    _script("stop", "--dir", str(directory))


def restart_local_kafka(directory: Path) -> None:
    """Stop the broker :func:`local_kafka` runs from ``directory``; start it again on the same
    port with its data (what a broker restart in production looks like to the clients)."""
    _script("restart", "--dir", str(directory))

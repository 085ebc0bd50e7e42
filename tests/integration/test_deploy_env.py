"""The KAM processes run with deploy/env/kam.env and serve what probes and rules rely on.

Each long-running command is started as in compose (same env file; only broker, names, data
directories and the bind address are the test's own) and must serve /metrics on its
KAM_METRICS_PORT, the endpoint of the liveness probes, exposing exactly its metric families.
The sink runs on chdb here (no ClickHouse server), compose points it at a server.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable

import pytest
from prometheus_client.metrics import MetricWrapperBase as Metric

from kam.localkafka import free_port
from kam.processes import ServiceProcess
from sinks import metrics as sink_metrics
from streams import metrics as worker_metrics
from tests.integration.conftest import Pipeline
from tests.integration.helpers import wait_for
from tests.unit.deploy.settings_env import DEPLOY, read_env_file
from tests.unit.deploy.test_prometheus_rules import kam_metrics

pytestmark = pytest.mark.integration
_TYPE_LINE = re.compile(r"^# TYPE ((?:kam|process)_\w+) (\w+)$", re.M)


def scrape(process: ServiceProcess) -> str:
    url = f"http://127.0.0.1:{process.metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()  # type: ignore[no-any-return]
    except OSError:
        return ""


def families(prefix: str) -> dict[str, str]:
    """Exposed family name (counters end in _total) -> type, for the code's ``prefix`` metrics."""
    described = (metric.describe()[0] for metric in kam_metrics())
    return {
        f.name + ("_total" if f.type == "counter" else ""): f.type
        for f in described
        if f.name.startswith(prefix)
    }


def test_module_metrics_are_what_the_catalogue_reads() -> None:
    for module, prefix in ((worker_metrics, "kam_worker_"), (sink_metrics, "kam_sink_")):
        names = {m.describe()[0].name for m in vars(module).values() if isinstance(m, Metric)}
        assert {name.removesuffix("_total") for name in families(prefix)} == names


@pytest.mark.parametrize(
    ("command", "prefix"),
    [
        (["worker"], "kam_worker_"),
        (["sink"], "kam_sink_"),
        (["notify"], "kam_notify_"),
        (["board"], "kam_board_"),
    ],
)
def test_process_serves_its_metrics_with_the_compose_env(
    pipeline: Pipeline, unique_name: Callable[[str], str], command: list[str], prefix: str
) -> None:
    env = read_env_file(DEPLOY / "env" / "kam.env")
    for secrets in ("notify.env.example", "board.env.example"):
        env |= read_env_file(DEPLOY / "secrets" / secrets)
    env |= {
        **pipeline.env,
        "KAM_METRICS_HOST": "127.0.0.1",
        "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "faust"),
        "KAM_SINK_GROUP_ID": unique_name("sink"),
        "KAM_NOTIFY_GROUP_ID": unique_name("notify"),
        "KAM_NOTIFY_ALERTMANAGER_URL": "http://127.0.0.1:9",
        "KAM_BOARD_PORT": str(free_port()),
    }
    process = pipeline.service(command, name=command[0], env=env)
    text = wait_for(
        lambda: scrape(process), timeout=90, what=f"{command[0]} /metrics", alive=[process]
    )
    exposed = dict(_TYPE_LINE.findall(text))
    own = {
        name: kind
        for name, kind in exposed.items()
        if name.startswith(prefix) and not name.endswith("_created")  # client's timestamps
    }
    assert own == families(prefix)
    assert exposed["process_resident_memory_bytes"] == "gauge"
    assert process.running()

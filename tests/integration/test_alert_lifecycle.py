"""An alert's whole life on the real broker: fire, no repeat while firing, repeat, resolve.

The lifecycle intervals come from a rules file with seconds instead of hours, so the test
sees a whole lifecycle; the order of the states, not their timing, is asserted.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from schemas import Account, AccountTier, Alert
from tests.integration.conftest import Pipeline
from tests.integration.helpers import produce, wait_for

KEY = "acme:support:low_csat"
REPEAT_SECONDS = 6.0
QUIET_SECONDS = 9.0  # one repeat (at 6 s) before the resolve, not two


def _fast_rules(path: Path) -> Path:
    """The shipped rules with a 6 s repeat interval and a 9 s quiet period."""
    rules = Path("config/alert_rules.toml").read_text()
    rules = re.sub(
        r"(?m)^repeat_interval_hours = .*$",
        f"repeat_interval_hours = {REPEAT_SECONDS / 3600}",
        rules,
    )
    rules = re.sub(
        r"(?m)^event_quiet_period_hours = .*$",
        f"event_quiet_period_hours = {QUIET_SECONDS / 3600}",
        rules,
    )
    path.write_text(rules)
    return path


def _alerts_of(pipeline: Pipeline, key: str) -> list[Alert]:
    values = pipeline.read_all(pipeline.topics.alerts)
    return [alert for alert in map(Alert.model_validate_json, values) if alert.alert_key == key]


def test_fire_no_repeat_repeat_resolve(pipeline: Pipeline) -> None:
    rules = _fast_rules(pipeline.workdir / "rules.toml")
    worker = pipeline.service(
        ["worker"],
        name="worker",
        env={
            "KAM_ALERTS_RULES_PATH": str(rules),
            "KAM_WORKER_TICK_SECONDS": "0.5",
            "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "w"),
            # The lifecycle runs on stream time; with no new event only the clock bound moves
            # it (the fixture's workers run on event time only).
            "KAM_WORKER_IDLE_ADVANCE_SECONDS": "300",
        },
    )
    acme = Account(account_id="acme", name="Acme", tier=AccountTier.STRATEGIC, kam_owner="ana")
    produce(pipeline.kafka, pipeline.topics.accounts, [(b"acme", acme.model_dump_json().encode())])
    wait_for(
        lambda: worker.metric("kam_worker_account_updates_total") == 1,
        what="the account",
        alive=[worker],
    )

    unhappy = orjson.dumps(
        {
            "event_id": "c1",
            "account_id": "acme",
            "event_type": "csat_submitted",
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "source_system": "helpdesk",
            "payload": {"score": 1},
        }
    )
    produce(pipeline.kafka, pipeline.topics.touchpoints, [(b"acme", unhappy)])
    (fired,) = wait_for(lambda: _alerts_of(pipeline, KEY), what="the alert", alive=[worker])
    assert (fired.status, fired.evidence["transition"], fired.event_ids) == (
        "firing",
        "new",
        ["c1"],
    )

    time.sleep(REPEAT_SECONDS / 3)  # well inside the repeat interval
    assert len(_alerts_of(pipeline, KEY)) == 1, "re-fired while firing"

    states = wait_for(
        lambda: (a := _alerts_of(pipeline, KEY)) and a[-1].status == "resolved" and a,
        timeout=60,
        what="the alert to resolve",
        alive=[worker],
        details=lambda: "alerts: " + repr(
            [(a.status, a.evidence["transition"], a.updated_at) for a in _alerts_of(pipeline, KEY)]
        ),
    )
    assert [(a.status, a.evidence["transition"]) for a in states] == [
        ("firing", "new"),
        ("firing", "repeat"),
        ("resolved", "resolved"),
    ]
    assert {a.started_at for a in states} == {fired.started_at}
    assert states[-1].evidence["reason"] == "quiet_period"

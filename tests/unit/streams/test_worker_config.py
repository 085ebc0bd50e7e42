"""The worker measures SLA attainment against the SLA table its alert rules enforce, and
creates Faust's internal topics under the names Faust uses."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
import uvloop

from kam.settings import KafkaSettings, TopicSettings, WorkerSettings
from schemas import Priority
from streams.alerting import load_alert_rules, parse_alert_rules
from streams.app import create_app, internal_topics
from streams.kpis import KpiConfig
from streams.worker import use_event_loop, with_support_sla

RULES = Path(__file__).resolve().parents[3] / "config" / "alert_rules.toml"


def test_shipped_rules_and_kpi_defaults_agree() -> None:
    assert with_support_sla(KpiConfig(), load_alert_rules(RULES)).sla == KpiConfig().sla


def test_a_configured_sla_reaches_the_kpis() -> None:
    text = re.sub(
        r"(\[events\.sla\.urgent\]\nfirst_response_minutes = )10", r"\g<1>5", RULES.read_text()
    )
    kpis = with_support_sla(KpiConfig(), parse_alert_rules(text))
    assert kpis.sla[Priority.URGENT].first_response == timedelta(minutes=5)
    assert kpis.sla[Priority.HIGH].first_response == timedelta(hours=1)


def test_faust_internal_topics_are_named_as_faust_names_them() -> None:
    rules = load_alert_rules(RULES)
    worker = WorkerSettings(app_id="kam-x")
    app = create_app(
        kafka=KafkaSettings(), topics=TopicSettings(partitions=6), worker=worker,
        kpis=with_support_sla(KpiConfig(), rules), alert_rules=rules,
    )  # fmt: skip
    topics = {t.topic: (t.num_partitions, t.config) for t in internal_topics(app, 6)}
    assert topics == {
        "kam-x-accounts-changelog": (6, {"cleanup.policy": "compact"}),
        "kam-x-state-changelog": (6, {"cleanup.policy": "compact"}),
        "kam-x-__assignor-__leader": (1, None),
    }
    assert {table.changelog_topic.get_topic_name() for table in app.tables.values()} == {
        "kam-x-accounts-changelog", "kam-x-state-changelog"
    }  # fmt: skip


@pytest.mark.parametrize(("setting", "loop_type"), [("uvloop", uvloop.Loop), ("asyncio", None)])
def test_the_configured_event_loop_is_installed(setting: str, loop_type: type | None) -> None:
    before = asyncio.get_event_loop_policy()
    try:
        use_event_loop(WorkerSettings(event_loop=setting))  # type: ignore[arg-type]
        loop = asyncio.new_event_loop()
        try:
            expected = loop_type or type(asyncio.DefaultEventLoopPolicy().new_event_loop())
            assert type(loop) is expected
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(before)

"""The worker's outputs are byte for byte the models' ``model_dump_json()`` (the wire contract
the consumers and the JSON Schemas are tested against), whatever shortcut serializes them."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

from kam.settings import TopicSettings
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from streams.app import _records
from streams.replay import offline_processor
from streams.validation import SourceRecord

TOPICS = TopicSettings()


def test_every_output_is_its_models_json() -> None:
    config = SimulationConfig(
        seed=7, accounts=20, start=datetime(2026, 3, 1, tzinfo=UTC), bad_probability=0.3
    )
    values = [m.value for m in islice(simulate_messages(config), 300)] + [b"{not json"]
    records = [SourceRecord(v, TOPICS.touchpoints, 0, i) for i, v in enumerate(values)]
    state: dict[str, bytes] = {}
    processor = offline_processor(simulated_accounts(config), state=state, kpi_interval=0.0)
    outcome = processor.process(records, now=datetime(2026, 3, 1, 1, tzinfo=UTC))
    models = [*outcome.dead_letters, *outcome.enriched, *outcome.kpi_updates]
    assert outcome.dead_letters and outcome.enriched and outcome.kpi_updates
    by_topic = {TOPICS.deadletter, TOPICS.enriched, TOPICS.kpis}
    sent = [r.value for r in _records(TOPICS, outcome) if r.topic in by_topic]
    assert sent == [model.model_dump_json().encode() for model in models]

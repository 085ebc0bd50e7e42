"""Issue 10's hostile documents, published with a plain client: each is a typed dead letter."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from schemas import DeadLetter, EnrichedTouchpoint
from tests.integration.conftest import Pipeline
from tests.integration.helpers import produce, read_topic
from tests.unit.schemas.hostile import HOSTILE, document

CONTROL = orjson.dumps(
    {**document("csat_submitted", {"score": 4}), "occurred_at": datetime.now(UTC).isoformat()}
)
"""A valid event published with them: proves the worker consumed the batch."""


def test_every_hostile_class_is_a_schema_dead_letter_with_its_field_path(
    pipeline: Pipeline,
) -> None:
    worker = pipeline.worker()
    produce(
        pipeline.kafka,
        pipeline.topics.touchpoints,
        [(b"acme", raw) for _, raw, _ in HOSTILE] + [(b"acme", CONTROL)],
    )

    kafka, topics = pipeline.kafka, pipeline.topics
    letters = [
        DeadLetter.model_validate_json(v)
        for v in read_topic(kafka, topics.deadletter, expected=len(HOSTILE))
    ]
    enriched = [
        EnrichedTouchpoint.model_validate_json(v)
        for v in read_topic(kafka, topics.enriched, expected=1)
    ]

    by_original = {
        letter.original: (letter.failure_type, letter.field_path, letter.detail)
        for letter in letters
    }
    assert len(letters) == len(HOSTILE)
    assert by_original == {raw: expected for _, raw, expected in HOSTILE}
    assert [item.event.event_id for item in enriched] == ["hostile-csat_submitted"]
    assert worker.running()

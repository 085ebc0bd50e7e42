"""One contract: a standard JSON Schema validator and the pydantic models agree on every document.

The generated documents are schema-valid touchpoints of every event type and near misses of
them (:mod:`tests.unit.schemas.documents`); the verdicts are compared both ways on the bytes,
every rejection must be typed as a dead letter is (a failure type, the field path), and the run
fails unless both kinds were really exercised.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from schemas import TOUCHPOINT_ADAPTER, FailureType
from schemas.validation import Rejection, classify
from schemas.wire import RFC3339_PATTERN
from tests.unit.schemas.documents import SCHEMA, TIMES, near_misses, to_bytes, valid_documents

VALIDATOR = Draft202012Validator(SCHEMA)
BRANCHES = {
    name: Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": ref})
    for name, ref in SCHEMA["discriminator"]["mapping"].items()
}
"""One validator per event type. The root's ``oneOf`` branches each require a different
``event_type`` const, so a document is valid iff the branch named by its ``event_type`` is:
the same verdict, twenty times faster (and checked against the root below)."""
BATCH = 25
"""Documents per hypothesis example: drawing a batch costs far less than ten examples."""
VALID_DOCUMENTS = 3_000
NEAR_MISS_DOCUMENTS = 7_000


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def json_schema_accepts(raw: bytes) -> bool:
    """The verdict of jsonschema on the bytes: strict JSON (no NaN/Infinity), then the schema."""
    try:
        document = json.loads(raw, parse_constant=_not_json)
    except ValueError:
        return False
    event_type = document.get("event_type") if isinstance(document, dict) else None
    validator = BRANCHES.get(event_type) if isinstance(event_type, str) else None
    return bool((validator or VALIDATOR).is_valid(document))


def pydantic_accepts(raw: bytes) -> bool:
    """The verdict of the models, exactly as the SDK and the worker validate."""
    return rejection(raw) is None


def rejection(raw: bytes) -> Rejection | None:
    """How the SDK and the worker classify the document (``None``: it is valid)."""
    try:
        TOUCHPOINT_ADAPTER.validate_json(raw)
    except ValidationError as error:
        return classify(error)
    return None


def assert_typed(found: Rejection) -> None:
    """A rejection a dead letter can carry: a failure type, and a field path for a field."""
    if found.failure_type is FailureType.NOT_JSON:
        assert found.field_path is None, found
    else:
        assert found.field_path, found


def _agreement(documents: st.SearchStrategy[Any], count: int) -> Counter[bool]:
    """Verdicts (``True``: valid) on ``count`` generated documents; fails on a disagreement."""
    verdicts: Counter[bool] = Counter()

    @settings(
        max_examples=count // BATCH,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(documents, min_size=BATCH, max_size=BATCH))
    def check(batch: list[Any]) -> None:
        for document in batch:
            raw = to_bytes(document)
            verdict = json_schema_accepts(raw)
            found = rejection(raw)
            assert (found is None) is verdict, raw
            if found is not None:
                assert_typed(found)
            verdicts[verdict] += 1

    check()
    return verdicts


def test_schema_valid_documents_are_valid_for_both() -> None:
    verdicts = _agreement(valid_documents(), VALID_DOCUMENTS)
    assert verdicts == {True: VALID_DOCUMENTS}


def test_near_misses_get_the_same_verdict_from_both() -> None:
    verdicts = _agreement(near_misses(), NEAR_MISS_DOCUMENTS)
    assert verdicts.total() == NEAR_MISS_DOCUMENTS
    assert verdicts[False] >= NEAR_MISS_DOCUMENTS * 0.6, verdicts
    assert verdicts[True] >= 100, verdicts  # near misses that are fine: 5.0, a bound itself


def test_the_routed_verdict_is_the_root_verdict() -> None:
    @settings(max_examples=300, database=None, deadline=None)
    @given(st.one_of(valid_documents(), near_misses()))
    def check(document: Any) -> None:
        raw = to_bytes(document)
        try:
            parsed = json.loads(raw, parse_constant=_not_json)
        except ValueError:
            return
        assert json_schema_accepts(raw) is VALIDATOR.is_valid(parsed)

    check()


def test_generated_times_match_the_published_pattern() -> None:
    @settings(max_examples=300, database=None, deadline=None)
    @given(TIMES)
    def check(text: str) -> None:
        assert re.fullmatch(RFC3339_PATTERN, text), text

    check()


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        (b'{"event_type": "csat_submitted"', False),
        (b"[1, 2]", False),
        (b'"csat_submitted"', False),
        (b"null", False),
    ],
)
def test_documents_that_are_not_objects(raw: bytes, accepted: bool) -> None:
    assert (json_schema_accepts(raw), pydantic_accepts(raw)) == (accepted, accepted)

"""Issue 10's hostile documents: the JSON Schema forbids each, the SDK and the worker agree why."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from producers import InvalidTouchpointError, to_touchpoint
from schemas import DeadLetter, FailureType
from streams.validation import SourceRecord, ValidationPolicy, validate_record
from tests.unit.schemas.hostile import HOSTILE
from tests.unit.schemas.test_contract_agreement import json_schema_accepts

NOW = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
CASES = [pytest.param(raw, expected, id=name) for name, raw, expected in HOSTILE]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_the_worker_dead_letters_it_with_the_field_path(
    raw: bytes, expected: tuple[FailureType, str, str]
) -> None:
    letter = validate_record(SourceRecord(raw, "t", 0, 7), now=NOW, policy=ValidationPolicy())
    assert isinstance(letter, DeadLetter)
    assert (letter.failure_type, letter.field_path, letter.detail) == expected
    assert letter.original == raw


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_the_sdk_rejects_it_for_the_same_reason(
    raw: bytes, expected: tuple[FailureType, str, str]
) -> None:
    with pytest.raises(InvalidTouchpointError) as info:
        to_touchpoint(raw)
    first = info.value.issues[0]
    assert (info.value.failure_type, first.path, first.message) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_the_json_schema_forbids_it(raw: bytes, expected: tuple[FailureType, str, str]) -> None:
    assert json_schema_accepts(raw) is False


def test_a_python_mapping_is_held_to_the_wire_contract() -> None:
    document = json.loads(
        HOSTILE[0][1]
    )  # score "5" from Python is no more a number than on the wire
    with pytest.raises(InvalidTouchpointError) as info:
        to_touchpoint(document)
    assert [str(issue) for issue in info.value.issues] == [
        "payload.score: Input should be a valid integer"
    ]

"""The schema evolution policy (docs/wire-format.md), as tests.

Within a version only optional fields may be added: every version-1 document ever valid stays
valid (``v1_documents.jsonl``: per event type, one with only the required fields and one with
every field, frozen when version 1 was published). Unknown fields are rejected by both
validators (``additionalProperties: false``), so a producer may send a new optional field only
once the workers know it. Anything else needs a new ``schema_version``; the versions accepted
are the ones the document's table lists.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import EVENT_TYPES, SUPPORTED_SCHEMA_VERSIONS, FailureType
from schemas.touchpoints import SCHEMA_VERSION
from streams.validation import SourceRecord, ValidationPolicy, validate_record
from tests.unit.schemas.documents import DEFS, SCHEMA
from tests.unit.schemas.test_contract_agreement import json_schema_accepts, pydantic_accepts

CORPUS = Path(__file__).with_name("v1_documents.jsonl")
V1 = [json.loads(line) for line in CORPUS.read_text().splitlines()]
NOW = datetime(2026, 3, 2, 10, 1, tzinfo=UTC)
WIRE_FORMAT = Path(__file__).resolve().parents[3] / "docs" / "wire-format.md"


def test_the_corpus_covers_every_event_type_twice() -> None:
    assert sorted(doc["event_type"] for doc in V1) == sorted([*EVENT_TYPES, *EVENT_TYPES])


@pytest.mark.parametrize("document", V1, ids=lambda d: f"{d['event_type']}-{len(d)}")
def test_every_v1_document_stays_valid_for_both_validators(document: dict[str, Any]) -> None:
    raw = json.dumps(document).encode()
    assert (json_schema_accepts(raw), pydantic_accepts(raw)) == (True, True)


def test_unknown_fields_are_refused_everywhere_in_the_schema() -> None:
    objects = {name: node for name, node in DEFS.items() if node.get("type") == "object"}
    envelopes = {ref.rsplit("/", 1)[1] for ref in SCHEMA["discriminator"]["mapping"].values()}
    payloads = {DEFS[name]["properties"]["payload"]["$ref"].rsplit("/", 1)[1] for name in envelopes}
    assert set(objects) == envelopes | payloads
    assert {name: node.get("additionalProperties") for name, node in objects.items()} == {
        name: False for name in objects
    }


@pytest.mark.parametrize("where", ["envelope", "payload"])
def test_an_unknown_field_in_the_same_version_is_a_schema_violation(where: str) -> None:
    document = json.loads(json.dumps(V1[0]))
    (document if where == "envelope" else document["payload"])["added_later"] = "x"
    raw = json.dumps(document).encode()
    letter = validate_record(SourceRecord(raw, "t", 0, 0), now=NOW, policy=ValidationPolicy())
    path = "added_later" if where == "envelope" else "payload.added_later"
    assert (letter.failure_type, letter.field_path) == (FailureType.SCHEMA_VIOLATION, path)
    assert (json_schema_accepts(raw), pydantic_accepts(raw)) == (False, False)


@pytest.mark.parametrize("version", [0, 2, 3])
def test_an_unsupported_version_is_its_own_dead_letter(version: int) -> None:
    raw = json.dumps({**V1[0], "schema_version": version}).encode()
    letter = validate_record(SourceRecord(raw, "t", 0, 0), now=NOW, policy=ValidationPolicy())
    assert (letter.failure_type, letter.field_path, letter.detail) == (
        FailureType.UNSUPPORTED_SCHEMA_VERSION,
        "schema_version",
        "Input should be 1",
    )
    assert json_schema_accepts(raw) is False


def test_the_documented_versions_are_the_accepted_ones() -> None:
    rows = re.findall(r"^\| (\d+) +\| (current|deprecated) ", WIRE_FORMAT.read_text(), re.M)
    assert {int(version) for version, _ in rows} == set(SUPPORTED_SCHEMA_VERSIONS)
    assert [int(v) for v, status in rows if status == "current"] == [SCHEMA_VERSION]
    versions = {
        node["properties"]["schema_version"]["const"]
        for node in DEFS.values()
        if "schema_version" in node.get("properties", {})
    }
    assert versions == set(SUPPORTED_SCHEMA_VERSIONS)
    assert SCHEMA["discriminator"]["propertyName"] == "event_type"

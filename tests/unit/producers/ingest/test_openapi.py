"""The OpenAPI description: committed as served, and naming what the service answers."""

from __future__ import annotations

from pathlib import Path

from producers.ingest.openapi import openapi_document, render
from schemas import FailureType

COMMITTED = Path(__file__).parents[4] / "docs" / "ingest-openapi.json"


def test_the_committed_description_is_the_served_one() -> None:
    assert COMMITTED.read_text() == render(), (
        "docs/ingest-openapi.json is stale: python -m producers.ingest.openapi > "
        "docs/ingest-openapi.json"
    )


def test_every_route_status_and_failure_type_is_described() -> None:
    document = openapi_document()
    assert set(document["paths"]) == {
        "/v1/touchpoints", "/v1/webhooks/{vendor}", "/healthz", "/readyz", "/metrics",
    }  # fmt: skip
    statuses = set(document["paths"]["/v1/touchpoints"]["post"]["responses"])
    assert statuses == {"200", "207", "422", "400", "401", "408", "413", "415", "429", "503"}
    schemas = document["components"]["schemas"]
    answer = schemas["EventAnswer"]["properties"]["failure_type"]["enum"]
    assert answer == [f.value for f in FailureType]
    assert "CsatSubmitted" in schemas and "Touchpoint" in schemas

"""The OpenAPI 3.1 description of ``kam ingest``, served at ``/openapi.json``.

Built from the event catalogue itself (the touchpoint JSON Schema), so it cannot drift from
what the endpoint validates; ``docs/ingest-openapi.json`` is this document as committed
(a unit test fails when they differ: ``python -m producers.ingest.openapi > docs/...``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from schemas import TOUCHPOINT_ADAPTER, FailureType

_JSON = "application/json"
_NDJSON = "application/x-ndjson"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(description: str, schema: str, *, retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {_JSON: {"schema": _ref(schema)}},
    }
    if retry:
        answer["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}
        }
    return answer


_REFUSALS = {
    "400": _answer(
        "Not a list of events (empty body, an unreadable JSON array), or a body that did not "
        "arrive whole", "Refusal",
    ),
    "401": _answer("No valid bearer token (or webhook signature)", "Refusal"),
    "408": _answer("The body did not arrive within KAM_INGEST_BODY_TIMEOUT_SECONDS", "Refusal"),
    "413": _answer("Body over KAM_INGEST_MAX_BODY_BYTES or over KAM_INGEST_MAX_EVENTS", "Refusal"),
    "415": _answer("Not application/json or application/x-ndjson in UTF-8", "Refusal"),
    "429": _answer("Over the token's rate limit", "Refusal", retry=True),
    "503": _answer(
        "The broker did not acknowledge every record: the events listed `unavailable` are not "
        "stored and must be sent again", "Answer", retry=True,
    ),
}  # fmt: skip


def _schemas() -> dict[str, Any]:
    touchpoint = TOUCHPOINT_ADAPTER.json_schema(
        mode="validation", ref_template="#/components/schemas/{model}"
    )
    definitions: dict[str, Any] = touchpoint.pop("$defs")
    for definition in definitions.values():  # the token decides it: it may be left out
        if "source_system" in definition.get("properties", {}):
            definition["required"] = [f for f in definition["required"] if f != "source_system"]
    issue = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
    }
    event_answer = {
        "type": "object",
        "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer", "description": "position in the request"},
            "status": {"enum": ["accepted", "rejected", "unavailable"]},
            "event_id": {"type": "string"},
            "partition": {"type": "integer"},
            "offset": {"type": "integer"},
            "failure_type": {"enum": [f.value for f in FailureType]},
            "field_path": {"type": ["string", "null"]},
            "detail": {"type": "string"},
            "issues": {"type": "array", "items": issue},
            "dead_letter_stored": {"type": "boolean"},
            "error": {"type": "string", "description": "librdkafka's code (unavailable)"},
            "retry": {"type": "boolean"},
        },
    }
    answer = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "source_system": {"type": "string"},
            "accepted": {"type": "integer"},
            "rejected": {"type": "integer"},
            "unavailable": {"type": "integer"},
            "events": {"type": "array", "items": _ref("EventAnswer")},
        },
    }
    refusal = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "error": {"type": "string"},
            "message": {"type": "string"},
        },
    }
    return {
        **definitions,
        "Touchpoint": touchpoint,
        "EventAnswer": event_answer,
        "Answer": answer,
        "Refusal": refusal,
    }


def _touchpoints() -> dict[str, Any]:
    body = {"oneOf": [_ref("Touchpoint"), {"type": "array", "items": _ref("Touchpoint")}]}
    return {
        "post": {
            "summary": "Publish one event, a JSON array of events, or NDJSON",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {
                    _JSON: {"schema": body},
                    _NDJSON: {"schema": {"type": "string", "description": "one event a line"}},
                },
            },
            "responses": {
                "200": _answer("Every event accepted: stored on the touchpoints topic", "Answer"),
                "207": _answer("Some events rejected (dead letters), the others stored", "Answer"),
                "422": _answer("Every event rejected (kept as dead letters)", "Answer"),
                **_REFUSALS,
            },
        }
    }  # fmt: skip


def _webhooks() -> dict[str, Any]:
    return {
        "post": {
            "summary": "A signed Zendesk or Stripe webhook, mapped onto the catalogue",
            "parameters": [
                {
                    "name": "vendor",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": ["zendesk", "stripe"]},
                }
            ],
            "requestBody": {"required": True, "content": {_JSON: {"schema": {"type": "object"}}}},
            "responses": {
                "200": _answer(
                    "Stored: as its catalogue event, or as a dead letter when it maps onto "
                    "nothing (`unmapped`) or is invalid", "Answer",
                ),
                "404": _answer("No secret is configured for this vendor", "Refusal"),
                **_REFUSALS,
            },
        }
    }  # fmt: skip


def _probe(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": {"description": "yes"}}}}


@cache
def _document() -> str:
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "KAM Pulse ingest",
            "version": "1",
            "description": "HTTP ingest of touchpoint events (docs/ingest.md).",
        },
        "paths": {
            "/v1/touchpoints": _touchpoints(),
            "/v1/webhooks/{vendor}": _webhooks(),
            "/healthz": _probe("The process serves"),
            "/readyz": _probe("A broker answers (503 otherwise)"),
            "/metrics": _probe("Prometheus metrics"),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def openapi_document() -> dict[str, Any]:
    """The description as a fresh dict."""
    loaded: dict[str, Any] = json.loads(_document())
    return loaded


def render() -> str:
    """The description as committed to docs/ingest-openapi.json."""
    return _document()


if __name__ == "__main__":
    print(render(), end="")

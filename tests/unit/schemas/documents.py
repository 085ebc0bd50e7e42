"""Hypothesis strategies for touchpoint documents, derived from the published JSON Schema.

:func:`valid_documents` walks ``schemas/json/touchpoint.schema.json`` (every event type, every
field, its bounds); :func:`near_misses` takes such a document and breaks one thing the way a
hand-written producer would: a string for a number, a boolean, a huge or non-finite number, an
epoch for a time, a missing or an extra field, a bound plus one. Documents are JSON bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from schemas.export import SCHEMA_DIR
from schemas.wire import (
    MAX_DAYS_LATE,
    MAX_ID_CHARS,
    MAX_MONEY,
    MAX_QUANTITY,
    MAX_TEXT_CHARS,
    RFC3339_PATTERN,
)

SCHEMA: dict[str, Any] = json.loads((SCHEMA_DIR / "touchpoint.schema.json").read_text())
DEFS: dict[str, Any] = SCHEMA["$defs"]
RAW = "\x00raw:"
"""Prefix of a string that :func:`to_bytes` writes as a bare JSON token (``1e309``)."""

HOSTILE: list[Any] = [
    "5", "12.5", "yes", "true", "", " ", None, True, False, 0, -1, 1, 5.0, 12.5, -0.0,
    10**20, 2**63, -(2**63) - 1, float("inf"), float("-inf"), float("nan"),
    f"{RAW}1e309", f"{RAW}-1e309", f"{RAW}1e-400", 1767225600, "1767225600",
    MAX_QUANTITY, MAX_QUANTITY + 1, MAX_DAYS_LATE + 1, MAX_MONEY, MAX_MONEY * 1.0000001,
    "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z",
    "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2000-02-29T12:00:00Z",
    "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z", "2026-13-01T00:00:00Z",
    "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00.123456+23:59", "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00Z\n", "1899-12-31T23:59:59Z", "3000-01-01T00:00:00Z", "2026-01-01",
    "2026-01-01T00:00Z", "2026-01-01T00:00:00-00:00", "\u0662\u0660\u0662\u0666-01-01T00:00:00Z",
    "x" * MAX_ID_CHARS, "x" * (MAX_ID_CHARS + 1), "y" * MAX_TEXT_CHARS, "y" * (MAX_TEXT_CHARS + 1),
    "EUR", "EUR\n", "eur", "EURO", [], {}, [1], ["a"], {"a": 1},
    "urgent", "sales", "support", "csat_submitted", "fax_received",
]  # fmt: skip
"""Values a careless or hostile producer puts where something else belongs."""


ALPHABET = st.sampled_from('aZ9 -_.:/é\u00df\u6f22\U0001f600\u0000"\\\n\t')
"""ASCII, Latin, CJK, an astral emoji, controls and JSON escapes: every way a length is counted."""


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    return DEFS[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node


def _rfc3339(moment: datetime, offset_minutes: int, digits: int) -> str:
    """``moment`` (naive, local to the offset) written the way the schema's pattern allows."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    return text + f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"


TIMES = st.builds(
    _rfc3339,
    st.datetimes(datetime(1900, 1, 1), datetime(2999, 12, 31, 23, 59, 59, 999_999)),
    st.one_of(st.just(0), st.integers(-(23 * 60 + 59), 23 * 60 + 59)),
    st.integers(0, 6),
)
"""Valid times, faster than generating from the pattern (checked against it in the tests)."""


def _text(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if node.get("pattern") == RFC3339_PATTERN:
        return TIMES
    if "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True)
    low, high = node.get("minLength", 0), node.get("maxLength", 40)
    alphabet = ALPHABET
    return st.one_of(
        st.text(alphabet, min_size=low, max_size=min(high, low + 12)),
        st.just("z" * high),
    )


def _number(node: dict[str, Any]) -> st.SearchStrategy[float | int]:
    low, high = node["minimum"], node["maximum"]
    return st.one_of(
        st.floats(low, high, allow_nan=False, allow_infinity=False),
        st.integers(int(low), int(high)),
    )


def instance(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under one schema node (the subset of JSON Schema pydantic emits)."""
    node = _resolve(node)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        return st.one_of([instance(option) for option in node["anyOf"]])
    return _BY_TYPE[node["type"]](node)


def _object(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = node["properties"]
    required = set(node.get("required", ()))
    return st.fixed_dictionaries(
        {name: instance(properties[name]) for name in properties if name in required},
        optional={name: instance(properties[name]) for name in properties if name not in required},
    )


_BY_TYPE: dict[str, Callable[[dict[str, Any]], st.SearchStrategy[Any]]] = {
    "object": _object,
    "array": lambda node: st.lists(instance(node["items"]), max_size=min(node["maxItems"], 5)),
    "string": _text,
    "boolean": lambda node: st.booleans(),
    "null": lambda node: st.none(),
    "integer": lambda node: st.integers(node["minimum"], node["maximum"]),
    "number": _number,
}


VALID = st.one_of(
    [instance({"$ref": ref}) for ref in sorted(SCHEMA["discriminator"]["mapping"].values())]
)
"""Built once: strategies rebuilt per draw cost more than the documents."""
REPLACEMENTS = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(st.characters(codec="utf-8"), max_size=6),
)
ACTIONS = st.sampled_from(["replace", "replace", "replace", "delete", "extra"])
EXTRA_KEYS = st.sampled_from(["extra", "legacy_code", "score", "Event_Id"])


def valid_documents() -> st.SearchStrategy[dict[str, Any]]:
    """Schema-valid touchpoints of every event type."""
    return VALID


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


@st.composite
def near_misses(draw: st.DrawFn) -> Any:
    """A valid document with one thing broken (most are invalid, a few stay valid: ``5.0``)."""
    document = _copy(draw(VALID))
    paths = _paths(document)
    path = draw(st.sampled_from(paths))
    *parents, last = path
    holder = document
    for part in parents:
        holder = holder[part]
    action = draw(ACTIONS)
    if action == "delete" and isinstance(holder, dict):
        del holder[last]
    elif action == "extra":
        target = holder if isinstance(holder, dict) else document
        target[draw(EXTRA_KEYS)] = draw(REPLACEMENTS)
    else:
        holder[last] = draw(REPLACEMENTS)
    return document


def to_bytes(document: Any) -> bytes:
    """JSON bytes; non-finite floats become ``Infinity``/``NaN`` tokens, raw strings bare."""
    text = json.dumps(document, allow_nan=True, ensure_ascii=False)
    for token in ("1e309", "-1e309", "1e-400"):
        text = text.replace(json.dumps(f"{RAW}{token}"), token)
    return text.encode()

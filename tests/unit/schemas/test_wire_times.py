"""Times built in Python obey the wire pattern too: what the SDK publishes, the worker accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.wire import RFC3339_PATTERN, WireTime

NEPAL = timezone(timedelta(hours=5, minutes=45))

TIME: TypeAdapter[datetime] = TypeAdapter(WireTime)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        datetime(1900, 1, 1, tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
        datetime(
            2999, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=5, minutes=45))
        ),
    ],
)
def test_a_valid_datetime_serialises_to_the_pattern(value: datetime) -> None:
    text = TIME.dump_json(TIME.validate_python(value)).decode().strip('"')
    assert re.fullmatch(RFC3339_PATTERN, text), text
    assert TIME.validate_json(f'"{text}"') == value


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (datetime(1850, 1, 1, tzinfo=UTC), "datetime_range"),
        (datetime(3000, 1, 1, tzinfo=UTC), "datetime_range"),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=30))), "datetime_range"),
        (datetime(2026, 1, 1), "timezone_aware"),
        (1767225600, "datetime_type"),
        ("2026-01-01T00:00:00", "datetime_format"),
    ],
)
def test_what_the_schema_refuses_python_refuses(value: object, kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        TIME.validate_python(value)
    assert [error["type"] for error in info.value.errors()] == [kind]

"""Field types of the wire contract: strict, bounded, and stated in the JSON Schema.

Every constraint a field has is one the published JSON Schema states, so any standard JSON
Schema validator and the pydantic models give the same verdict on a document
(``tests/unit/schemas/test_contract_agreement.py``). No coercion: a string is never a number,
a boolean never an integer, a number never a time. An integer is any JSON number without a
fractional part (``5`` or ``5.0``), as JSON Schema defines ``integer``. Bounds are what the KPI
maths (64-bit counters in ``streams/kpis/state.py``) can sum without overflow.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_ID_CHARS = 128
MAX_TEXT_CHARS = 1000
MAX_QUANTITY = 1_000_000_000
"""Units per delivery or return: 9.2e9 maximal events fit a 64-bit counter."""
MAX_MONEY = 1e12
"""Amounts in the event's currency."""
MAX_DAYS_LATE = 36_500
MAX_LIST_ITEMS = 100

_YEAR = "(19|2[0-9])[0-9]{2}"
_LEAP_YEAR = "((19|2[0-9])(0[48]|[2468][048]|[13579][26])|2000|2400|2800)"
_DATE = (
    f"({_YEAR}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    f"|02-(0[1-9]|1[0-9]|2[0-8]))|{_LEAP_YEAR}-02-29)"
)
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?"
_OFFSET = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
RFC3339_PATTERN = f"^{_DATE}T{_TIME}{_OFFSET}$"
"""RFC 3339 date-time with an offset, years 1900-2999, at most microseconds, real dates only.

Written for every regex dialect JSON Schema validators use (ASCII classes, no look-around)."""
_RFC3339 = re.compile(RFC3339_PATTERN)


def _wire_time(value: Any) -> Any:
    """Only an RFC 3339 string (or, from Python, a datetime) is a time: never a number.

    A datetime must also serialise to what the pattern accepts, so that a model built in
    Python is never published as JSON the schema (and the worker) would refuse.
    """
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if not 1900 <= value.year <= 2999 or (offset is not None and offset.seconds % 60):
            raise PydanticCustomError(
                "datetime_range", "Input should be in years 1900-2999 with a whole-minute offset"
            )
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time string")
    if _RFC3339.fullmatch(value) is None:
        raise PydanticCustomError(
            "datetime_format",
            "Input should be an RFC 3339 date-time with an offset, years 1900-2999 "
            "(2026-01-01T09:00:00Z)",
        )
    return value


def _wire_integer(value: Any) -> Any:
    """JSON Schema's integer: a number without fraction (``5.0`` is 5); ``true`` is not one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


WireTime = Annotated[
    AwareDatetime,
    BeforeValidator(_wire_time),
    # "not" a newline: Python's re lets "$" match before a final newline, ECMA-262 does not.
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": RFC3339_PATTERN,
            "not": {"pattern": "\n"},
        }
    ),
]


WireInt = Annotated[int, Strict(), BeforeValidator(_wire_integer)]
"""A strict integer; bound it with ``Field(ge=..., le=...)``."""
WireFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]
"""A strict, finite JSON number (integers allowed); bound it with ``Field``."""
StrictBool = Annotated[bool, Strict()]


Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]


def _absent(value: object) -> bool:
    return value is None


Reference = Annotated[Id | None, Field(exclude_if=_absent)]
"""An optional business reference (e.g. ``order_id``): left out of the JSON when absent, so an
event without one serializes byte for byte as before the field existed."""
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
"""Free text (reasons, channels); may be empty."""
Money = Annotated[WireFloat, Field(ge=0, le=MAX_MONEY)]
Quantity = Annotated[int, Strict(), Field(ge=0, le=MAX_QUANTITY), BeforeValidator(_wire_integer)]
"""Bounds go before the validator, so that they reach the JSON Schema as minimum/maximum."""
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
"""ISO 4217 code; the length bound keeps "EUR\\n" out in every regex dialect."""
SchemaVersion = Annotated[Literal[1], BeforeValidator(_wire_integer)]
"""Version 1; ``true`` is a type error (not version 1), ``2`` an unsupported version."""

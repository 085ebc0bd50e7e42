"""Every input a page takes, validated before anything runs: a typed 400 page otherwise.

Query strings are checked by strict pydantic models (unknown or repeated parameters are
refused); an empty value (a filter form's "any") means "not given".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.wire import MAX_ID_CHARS
from sinks.board.exceptions import InvalidInputError
from sinks.board.model import CONTACT_POINTS, OVERALL, SortKey
from streams.kpis.catalogue import KPI_NAMES

Text = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$")]
ContactPointName = Literal["sales", "logistics", "support", "billing"]
ScopePoint = Literal["sales", "logistics", "support", "billing", "overall"]
Window = Literal["1h", "24h", "7d", "30d"]
KPI_CHOICES = frozenset(
    {"experience_score", *(name for names in KPI_NAMES.values() for name in names)}
)
AUTH_PARAMETERS = frozenset({"token"})
"""Read by the login check, never by a page."""

if set(get_args(ContactPointName)) != set(CONTACT_POINTS) or set(get_args(ScopePoint)) != {
    *CONTACT_POINTS, OVERALL
}:
    raise ImportError("the board's contact points differ from schemas.ContactPoint")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class PortfolioParams(_Params):
    owner: Text | None = None
    tier: Literal["strategic", "key"] | None = None
    contact_point: ContactPointName | None = None
    sort: SortKey = "worst"
    order: Literal["asc", "desc"] = "asc"


class AccountParams(_Params):
    pass


class SqlParams(_Params):
    account: Text | None = None
    contact_point: ScopePoint | None = None
    window: Window | None = None
    kpi: Text | None = None
    severity: Literal["critical", "warning", "info"] | None = None


P = TypeVar("P", bound=_Params)


def parse(model: type[P], items: Iterable[tuple[str, str]]) -> P:
    """``model`` from query-string pairs; InvalidInputError names what is wrong."""
    values: dict[str, str] = {}
    for key, value in items:
        if key in AUTH_PARAMETERS:
            continue
        if key in values:
            raise InvalidInputError(f"parameter {key!r} is given more than once")
        if value != "":
            values[key] = value
    try:
        params = model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'query'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise InvalidInputError(f"invalid parameters: {problems}") from None
    if isinstance(params, SqlParams) and params.kpi is not None and params.kpi not in KPI_CHOICES:
        raise InvalidInputError(f"invalid parameters: kpi: not a KPI name: {params.kpi!r}")
    return params


def account_id(text: str) -> str:
    """An account id from the URL path (1-128 characters, no control characters)."""
    if not 1 <= len(text) <= MAX_ID_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInputError("an account id has 1 to 128 characters and no control characters")
    return text

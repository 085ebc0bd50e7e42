"""Parsing account master-data files (CSV or JSON lines) into validated rows, per line.

Columns are the :class:`schemas.Account` fields an operator maintains plus the manual
override columns; the tier, score and timestamps are computed, never read. Empty CSV cells
and blank strings mean "missing". A bad row is reported with its line number and reason and
does not stop the others.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import orjson
from pydantic import ValidationError

from producers.accounts.exceptions import AccountFileError
from producers.tiering import OverrideError, manual_override
from schemas.accounts import Account, TierOverride

FileFormat = Literal["auto", "csv", "jsonl"]
COMPUTED_FIELDS = frozenset(
    {"tier", "tier_score", "updated_at", "tier_override", "tier_model_version"}
)
ACCOUNT_COLUMNS = tuple(name for name in Account.model_fields if name not in COMPUTED_FIELDS)
OVERRIDE_COLUMNS = ("override_tier", "override_reason", "override_by")
INPUT_COLUMNS = ACCOUNT_COLUMNS + OVERRIDE_COLUMNS
REQUIRED_COLUMNS = ("account_id", "name")


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected input row."""

    line: int
    reason: str
    account_id: str | None = None

    def __str__(self) -> str:
        who = f" ({self.account_id})" if self.account_id else ""
        return f"line {self.line}{who}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AccountRow:
    """A valid row: the account's master data (tier not yet decided) and its override."""

    line: int
    account: Account
    override: TierOverride | None


@dataclass(frozen=True, slots=True)
class ParsedFile:
    rows: tuple[AccountRow, ...]
    errors: tuple[RowError, ...]


def parse_account_file(path: Path, *, fmt: FileFormat = "auto", now: datetime) -> ParsedFile:
    """Read and validate every row; ``now`` stamps new overrides. Raises AccountFileError."""
    chosen = _format_of(path) if fmt == "auto" else fmt
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountFileError(f"cannot read {path}: {exc}") from exc
    records = _csv_records(text) if chosen == "csv" else _jsonl_records(text)
    return validate_records(records, now=now)


def validate_records(
    records: Iterator[tuple[int, Mapping[str, object] | RowError]], *, now: datetime
) -> ParsedFile:
    """Validate ``(line, record)`` pairs; a repeated account id is rejected on its later line."""
    rows: list[AccountRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, record in records:
        result = record if isinstance(record, RowError) else _row(line, record, now)
        if isinstance(result, AccountRow) and result.account.account_id in first_line:
            account_id = result.account.account_id
            result = RowError(
                line, f"duplicate account_id, first on line {first_line[account_id]}", account_id
            )
        if isinstance(result, RowError):
            errors.append(result)
            continue
        first_line[result.account.account_id] = line
        rows.append(result)
    return ParsedFile(rows=tuple(rows), errors=tuple(errors))


def _row(line: int, record: Mapping[str, object], now: datetime) -> AccountRow | RowError:
    cleaned = {key: _blank_to_none(value) for key, value in record.items()}
    raw_id = cleaned.get("account_id")
    account_id = raw_id if isinstance(raw_id, str) else None
    unknown = sorted(set(cleaned) - set(INPUT_COLUMNS))
    if unknown:
        return RowError(line, f"unknown field(s): {', '.join(unknown)}", account_id)
    try:
        account = Account.model_validate(
            {k: v for k, v in cleaned.items() if k in ACCOUNT_COLUMNS and v is not None}
        )
    except ValidationError as exc:
        return RowError(line, _issues(exc), account_id)
    if account.parent_account_id == account.account_id:
        return RowError(line, "parent_account_id: an account cannot be its own parent", account_id)
    try:
        override = _override(cleaned, now)
    except OverrideError as exc:
        return RowError(line, str(exc), account_id)
    return AccountRow(line=line, account=account, override=override)


def _override(cleaned: Mapping[str, object], now: datetime) -> TierOverride | None:
    tier, reason, by = (cleaned.get(column) for column in OVERRIDE_COLUMNS)
    if tier is None and reason is None and by is None:
        return None
    if tier is None:
        raise OverrideError("override_reason/override_by given without override_tier")
    return manual_override(
        tier=str(tier),
        reason=None if reason is None else str(reason),
        by=None if by is None else str(by),
        at=now,
    )


def _csv_records(text: str) -> Iterator[tuple[int, Mapping[str, object] | RowError]]:
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if header is None:
        return
    columns = [name.strip() for name in header]
    unknown = [name for name in columns if name not in INPUT_COLUMNS]
    absent = [name for name in REQUIRED_COLUMNS if name not in columns]
    if unknown or absent or len(set(columns)) != len(columns):
        problems = [f"unknown column(s): {', '.join(unknown)}"] if unknown else []
        problems += [f"missing column(s): {', '.join(absent)}"] if absent else []
        problems += ["repeated column names"] if len(set(columns)) != len(columns) else []
        raise AccountFileError(
            f"bad CSV header: {'; '.join(problems)} (known: {', '.join(INPUT_COLUMNS)})"
        )
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            yield line, RowError(line, f"{len(cells)} cells, the header has {len(columns)}")
            continue
        yield line, dict(zip(columns, cells, strict=True))


def _jsonl_records(text: str) -> Iterator[tuple[int, Mapping[str, object] | RowError]]:
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            yield line, RowError(line, f"not JSON: {exc}")
            continue
        if not isinstance(record, dict):
            yield line, RowError(line, "not a JSON object")
            continue
        yield line, record


def _format_of(path: Path) -> Literal["csv", "jsonl"]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise AccountFileError(f"cannot tell the format of {path}: use .csv or .jsonl, or say which")


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


def _issues(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or '<row>'}: {error['msg']}"
        for error in exc.errors()
    )

"""Parsing account files: CSV and JSON lines, row errors with line numbers, file errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.accounts import AccountFileError, RowError, parse_account_file
from schemas.accounts import AccountTier, TierOverride

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

CSV = """\
account_id,name,segment,annual_revenue_eur,growth_potential,override_tier,override_reason,override_by
A1,Acme,automotive,1000000000,8,,,
A2,"Beta, Inc.",pharma,,11,,,
A3,Gamma,,abc,5,,,

A4,Delta,retail,,3,strategic,Reference customer,alice
A5,Epsilon,retail,,3,key,,alice
A1,Acme again,automotive,,,,,
A6,"Multi
line",retail,,4,,,
A7,Eta,retail,,,,,carol
,NoId,retail,,,,,
A8,Theta,retail,,2
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_and_row_errors_with_line_numbers(tmp_path: Path) -> None:
    parsed = parse_account_file(write(tmp_path, "accounts.csv", CSV), now=NOW)
    assert [(row.line, row.account.account_id) for row in parsed.rows] == [
        (2, "A1"), (6, "A4"), (9, "A6"),
    ]
    acme = parsed.rows[0].account
    assert (acme.name, acme.segment, acme.annual_revenue_eur, acme.growth_potential) == (
        "Acme", "automotive", 1e9, 8.0,
    )
    assert acme.influence is None
    assert parsed.rows[2].account.name == "Multi\nline"
    assert parsed.rows[1].override == TierOverride(
        tier=AccountTier.STRATEGIC, reason="Reference customer", by="alice", at=NOW
    )
    assert [str(error) for error in parsed.errors] == [
        "line 3 (A2): growth_potential: Input should be less than or equal to 10",
        "line 4 (A3): annual_revenue_eur: Input should be a valid number, "
        "unable to parse string as a number",
        "line 7 (A5): a tier override needs a non-empty reason",
        "line 8 (A1): duplicate account_id, first on line 2",
        "line 11 (A7): override_reason/override_by given without override_tier",
        "line 12: account_id: Field required",
        "line 13: 5 cells, the header has 8",
    ]


def test_jsonl_rows_and_row_errors(tmp_path: Path) -> None:
    text = "\n".join(
        [
            '{"account_id": "J1", "name": "Json One", "influence": 7, "kam_owner": "bob"}',
            '{"account_id": "J2", "name": "Json Two", "tier": "strategic"}',
            "not json",
            "",
            '["a list"]',
            '{"account_id": "J3", "name": "", "current_profitability_pct": -120}',
            '{"account_id": "J4", "name": "Four", "parent_account_id": "J4"}',
            '{"account_id": "J5", "name": "Five", "override_tier": "gold",'
            ' "override_reason": "x", "override_by": "eve"}',
            '{"account_id": "J6", "name": "Six", "segment": "  ", "growth_potential": null}',
        ]
    )
    parsed = parse_account_file(write(tmp_path, "accounts.jsonl", text), now=NOW)
    assert [(row.line, row.account.account_id) for row in parsed.rows] == [(1, "J1"), (9, "J6")]
    assert parsed.rows[0].account.kam_owner == "bob"
    assert parsed.rows[1].account.segment is None
    assert [(e.line, e.account_id) for e in parsed.errors] == [
        (2, "J2"), (3, None), (5, None), (6, "J3"), (7, "J4"), (8, "J5"),
    ]
    reasons = [e.reason for e in parsed.errors]
    assert reasons[0] == "unknown field(s): tier"
    assert reasons[1].startswith("not JSON: ")
    assert reasons[2] == "not a JSON object"
    assert reasons[3] == (
        "name: Field required; "
        "current_profitability_pct: Input should be greater than or equal to -100"
    )
    assert reasons[4] == "parent_account_id: an account cannot be its own parent"
    assert reasons[5] == "cannot override to tier 'gold': use strategic, key or standard"


def test_format_can_be_forced_whatever_the_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, "accounts.txt", '{"account_id": "X", "name": "Ex"}\n')
    with pytest.raises(AccountFileError, match="cannot tell the format"):
        parse_account_file(path, now=NOW)
    parsed = parse_account_file(path, fmt="jsonl", now=NOW)
    assert [row.account.account_id for row in parsed.rows] == ["X"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("account_id,name,shoe_size", "unknown column\\(s\\): shoe_size"),
        ("account_id,segment", "missing column\\(s\\): name"),
        ("account_id,name,name", "repeated column names"),
        ("account_id,name,tier", "unknown column\\(s\\): tier"),
    ],
)
def test_bad_csv_header_rejects_the_file(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, "bad.csv", f"{header}\nA,B,C\n")
    with pytest.raises(AccountFileError, match=f"bad CSV header: {message}"):
        parse_account_file(path, now=NOW)


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(AccountFileError, match="cannot read"):
        parse_account_file(tmp_path / "absent.csv", now=NOW)
    empty = parse_account_file(write(tmp_path, "empty.csv", ""), now=NOW)
    assert (empty.rows, empty.errors) == ((), ())


def test_row_error_text() -> None:
    assert str(RowError(4, "bad", "A")) == "line 4 (A): bad"
    assert str(RowError(5, "bad")) == "line 5: bad"


def test_the_csv_example_in_the_docs_parses(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "tiering.md"
    example = docs.read_text(encoding="utf-8").split("```csv\n", 1)[1].split("```", 1)[0]
    parsed = parse_account_file(write(tmp_path, "example.csv", example), now=NOW)
    assert parsed.errors == ()
    assert [(r.account.account_id, r.override is not None) for r in parsed.rows] == [
        ("ACME-001", False), ("CORE-003", True),
    ]

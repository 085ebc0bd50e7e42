"""The examples of docs/wire-format.md are valid touchpoints and accounts, as documented."""

from __future__ import annotations

import re
from pathlib import Path

from schemas import Account, ContactPoint, parse_touchpoint

DOC = (Path(__file__).resolve().parents[3] / "docs" / "wire-format.md").read_text()


EXAMPLES = [parse_touchpoint(b) for b in re.findall(r"```json\n(.*?)\n```", DOC, flags=re.DOTALL)]


def test_one_valid_example_per_contact_point() -> None:
    assert [e.contact_point for e in EXAMPLES] == list(ContactPoint)


def test_stated_delays_match_the_examples() -> None:
    delivery, reply = EXAMPLES[1], EXAMPLES[2]
    late = delivery.payload.delivered_at - delivery.payload.promised_at  # type: ignore[union-attr]
    assert late.total_seconds() == 92 * 60
    waited = reply.occurred_at - reply.payload.opened_at  # type: ignore[union-attr]
    assert waited.total_seconds() == 23 * 60
    assert "92 minutes late" in DOC
    assert "after 23 minutes" in DOC


def test_account_and_kcat_examples_validate() -> None:
    account = re.search(r"`(\{\"account_id\".*?\})`", DOC)
    assert account is not None
    assert Account.model_validate_json(account.group(1)).tier == "strategic"
    kcat_line = re.search(r"^(acct-\d+)\|(\{.*\})$", DOC, flags=re.MULTILINE)
    assert kcat_line is not None
    assert parse_touchpoint(kcat_line.group(2)).account_id == kcat_line.group(1)

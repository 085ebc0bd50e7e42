"""State table keys: layout, round trips through parse_key, and the offset watermark."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import orjson
import pytest

from schemas import ContactPoint
from streams.state import (
    alerts_key,
    chain_key,
    compact_json,
    kpi_key,
    offset_key,
    parse_chain_key,
    parse_key,
    watermark,
)


def test_kpi_key_layout_and_round_trip() -> None:
    key = kpi_key(2, "acme", ContactPoint.LOGISTICS)
    assert key == "2/kpi/logistics:acme"
    assert parse_key(key) == (2, "kpi", "logistics:acme")


@pytest.mark.parametrize("account_id", ["acme", "ACME:EU", "acme/eu/north", "1"])
def test_alerts_key_round_trips_any_account_id(account_id: str) -> None:
    key = alerts_key(11, account_id)
    assert key == f"11/alerts/{account_id}"
    assert parse_key(key) == (11, "alerts", account_id)


def test_offset_key_layout_and_round_trip() -> None:
    assert offset_key(0) == "0/offset"
    assert parse_key(offset_key(0)) == (0, "offset", "")
    assert parse_key(offset_key(12)) == (12, "offset", "")


def test_keys_of_partitions_sharing_a_digit_prefix_stay_apart() -> None:
    keys = [alerts_key(1, "acme"), alerts_key(11, "acme"), offset_key(1), offset_key(11)]
    assert [parse_key(key)[0] for key in keys] == [1, 11, 1, 11]


def test_watermark_is_minus_one_without_a_stored_offset() -> None:
    assert watermark({}, 2) == -1
    assert watermark({offset_key(3): b"7"}, 2) == -1


def test_watermark_reads_the_stored_offset_of_its_partition() -> None:
    state = {offset_key(2): b"14", offset_key(3): b"0", alerts_key(2, "acme"): b"{}"}
    assert (watermark(state, 2), watermark(state, 3)) == (14, 0)


def _traced_bytes(make: Callable[[int], bytes], count: int = 1000) -> int:
    tracemalloc.start()
    try:
        kept = [make(i) for i in range(count)]
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    return size


def test_compact_json_holds_only_its_own_length() -> None:
    value = compact_json({"account_id": "acme", "tier": "strategic"})
    assert value == b'{"account_id":"acme","tier":"strategic"}'
    compact = _traced_bytes(lambda i: compact_json({"account_id": f"acct-{i}"}))
    plain = _traced_bytes(lambda i: orjson.dumps({"account_id": f"acct-{i}"}))
    assert compact < 200_000 < plain  # 1,000 values: ~100 bytes each, not a 4 KiB buffer each


def test_chain_keys_round_trip_whatever_the_ids_hold() -> None:
    pairs = [("acme", "O-17"), ("a/b", "c"), ("a", "b/c"), ('x"y', "o:1")]
    keys = [chain_key(4, account, order) for account, order in pairs]
    assert len(set(keys)) == len(pairs)
    for key, pair in zip(keys, pairs, strict=True):
        partition, kind, rest = parse_key(key)
        assert (partition, kind, parse_chain_key(rest)) == (4, "chain", pair)

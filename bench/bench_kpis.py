"""Benchmark of the KPI engine: apply_batch throughput, encoded state size and table memory.

Run: ``.venv/bin/python bench/bench_kpis.py [--events 100000] [--accounts 2000]``.
Simulated touchpoints spread over 30 days (a few hours out of order), all 4 contact points.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.touchpoints import TOUCHPOINT_ADAPTER, ContactPoint, Touchpoint
from streams.kpis import ContactPointState, KpiConfig, StateKey, apply_batch, apply_batch_encoded

START = datetime(2026, 3, 1, tzinfo=UTC)
SPAN_S = 30 * 86400


def _payload(kind: str, at: datetime, rnd: random.Random) -> dict[str, Any]:
    before = at - timedelta(minutes=rnd.randint(1, 3000))
    payloads: dict[str, Callable[[], dict[str, Any]]] = {
        "delivery_completed": lambda: {
            "shipment_id": "s", "promised_at": before, "delivered_at": at,
            "ordered_qty": 10, "delivered_qty": rnd.choice((10, 10, 10, 9)),
            "damaged_qty": rnd.choice((0, 0, 0, 1)),
        },
        "delivery_failed": lambda: {"shipment_id": "s"},
        "ticket_first_response": lambda: {
            "ticket_id": "t", "priority": rnd.choice(("low", "normal", "high", "urgent")),
            "opened_at": before,
        },
        "ticket_resolved": lambda: {"ticket_id": "t", "priority": "normal", "opened_at": before},
        "csat_submitted": lambda: {"score": rnd.randint(1, 5)},
        "nps_submitted": lambda: {"score": rnd.randint(0, 10)},
        "invoice_issued": lambda: {"invoice_id": "i", "amount": 10.0, "due_at": at},
        "payment_received": lambda: {
            "invoice_id": "i", "amount": 10.0, "days_late": rnd.choice((0, 0, 3)),
        },
        "invoice_disputed": lambda: {"invoice_id": "i", "reason": "price"},
        "quote_sent": lambda: {"quote_id": "q", "requested_at": before},
        "order_placed": lambda: {"order_id": "o", "amount": 5.0},
        "order_confirmed": lambda: {"order_id": "o", "placed_at": before},
    }  # fmt: skip
    return payloads[kind]()


KINDS = (
    "delivery_completed", "delivery_failed", "ticket_first_response", "ticket_resolved",
    "csat_submitted", "nps_submitted", "invoice_issued", "payment_received",
    "invoice_disputed", "quote_sent", "order_placed", "order_confirmed",
)  # fmt: skip


def simulate(count: int, accounts: int, seed: int = 7) -> list[Touchpoint]:
    """``count`` touchpoints in rough event-time order over 30 days, up to 6 h out of order."""
    rnd = random.Random(seed)
    events = []
    for i in range(count):
        offset = i * SPAN_S // count - rnd.randint(0, 6 * 3600)
        at = START + timedelta(seconds=max(0, offset))
        kind = rnd.choice(KINDS)
        raw = {
            "event_id": f"e{i}", "account_id": f"acc-{rnd.randrange(accounts)}",
            "occurred_at": at, "source_system": "bench", "event_type": kind,
            "payload": _payload(kind, at, rnd),
        }  # fmt: skip
        events.append(TOUCHPOINT_ADAPTER.validate_python(raw))
    return events


def batches(events: list[Touchpoint], size: int) -> list[list[Touchpoint]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def saturated_support_bytes(config: KpiConfig) -> int:
    """Size of a support state with a reply and a resolution in every 5 minutes of 30 days."""
    rnd = random.Random(3)
    state = ContactPointState(contact_point=ContactPoint.SUPPORT, config=config)
    for step in range(SPAN_S // 300):
        at = START + timedelta(seconds=300 * step)
        for kind in ("ticket_first_response", "ticket_resolved"):
            raw = {
                "event_id": "e", "account_id": "a", "occurred_at": at, "source_system": "bench",
                "event_type": kind, "payload": _payload(kind, at, rnd),
            }  # fmt: skip
            state.apply(TOUCHPOINT_ADAPTER.validate_python(raw))
    return len(state.to_bytes())


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--table-states", type=int, default=400_000)
    args = parser.parse_args()
    config = KpiConfig()
    events = simulate(args.events, args.accounts)
    print(f"{len(events)} events, {args.accounts} accounts, batches of {args.batch}")

    states: dict[StateKey, ContactPointState] = {}
    started = time.perf_counter()
    for batch in batches(events, args.batch):
        apply_batch(states, batch, config=config)
    elapsed = time.perf_counter() - started
    print(f"apply_batch (decoded states):        {len(events) / elapsed:10,.0f} events/s")

    table: dict[str, bytes] = {}
    started = time.perf_counter()
    for batch in batches(events, args.batch):
        apply_batch_encoded(table, batch, config=config)
    elapsed = time.perf_counter() - started
    print(f"apply_batch_encoded (bytes table):   {len(events) / elapsed:10,.0f} events/s")

    sizes = sorted(len(value) for value in table.values())
    print(
        f"encoded state bytes over {len(sizes)} states: mean {statistics.fmean(sizes):.0f}, "
        f"p50 {sizes[len(sizes) // 2]}, p90 {sizes[len(sizes) * 9 // 10]}, max {sizes[-1]}"
    )
    as_of = START + timedelta(days=30)
    sample = list(states.values())[:1000]
    started = time.perf_counter()
    for state in sample:
        state.snapshots(as_of=as_of)
    per = (time.perf_counter() - started) / len(sample) * 1e6
    print(f"snapshots (4 windows) per state:     {per:10.0f} us")

    busiest = max(table.values(), key=len)
    print(f"busiest simulated state:             {len(busiest):10} bytes")
    print(f"saturated support state:             {saturated_support_bytes(config):10} bytes")

    values = list(table.values())
    before = rss_bytes()
    held = {f"acct-{i:06d}|{i % 4}": bytes(bytearray(values[i % len(values)]))
            for i in range(args.table_states)}  # fmt: skip
    grown = rss_bytes() - before
    print(
        f"table of {len(held):,} encoded states: +{grown / 2**20:.0f} MiB RSS "
        f"({grown / len(held):.0f} bytes/state incl. key and dict), total RSS "
        f"{rss_bytes() / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()

"""A simulated Zendesk: the trigger webhooks a helpdesk sends for a day's tickets. Pure.

Used by ``kam demo`` to feed the support contact point of the key accounts through
``kam ingest`` instead of the SDK. Deterministic per seed and time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

FIRST_ORGANIZATION = 360_000


def organizations(account_ids: Sequence[str]) -> dict[str, str]:
    """Zendesk organization id -> account id, as the mapping file ``[zendesk.organizations]``."""
    return {str(FIRST_ORGANIZATION + i): account for i, account in enumerate(account_ids)}


def account_map_toml(account_ids: Sequence[str]) -> str:
    """The account mapping file (``KAM_INGEST_ACCOUNT_MAP_PATH``) for these accounts."""
    lines = [f'{org} = "{account}"' for org, account in organizations(account_ids).items()]
    return "[zendesk.organizations]\n" + "\n".join(lines) + "\n"


def _time(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def ticket_webhooks(
    account_ids: Sequence[str], *, now: datetime, seed: int, unhappy: float = 0.3
) -> list[dict[str, Any]]:
    """Per account one ticket: created, first reply, solved, and a satisfaction rating (bad
    with probability ``unhappy``), in the order Zendesk's triggers would fire."""
    rng = random.Random(f"kam-helpdesk:{seed}")
    bodies: list[dict[str, Any]] = []
    for org in organizations(account_ids):
        ticket = f"{rng.randint(10_000, 99_999)}"
        opened = now - timedelta(minutes=rng.randint(160, 240))  # rated at least 5 min ago
        replied = opened + timedelta(minutes=rng.randint(5, 90))
        solved = replied + timedelta(minutes=rng.randint(10, 60))
        ticket_fields = {
            "ticket_id": ticket, "organization_id": org,
            "priority": rng.choice(["Low", "Normal", "High", "Urgent"]),
            "via": rng.choice(["Mail", "Web", "Chat"]), "created_at": _time(opened),
        }  # fmt: skip
        rating = "bad" if rng.random() < unhappy else "good"
        bodies += [
            {"kind": "ticket_created", **ticket_fields, "updated_at": _time(opened)},
            {"kind": "first_reply", **ticket_fields, "updated_at": _time(replied)},
            {"kind": "solved", **ticket_fields, "updated_at": _time(solved)},
            {
                "kind": "satisfaction_rated", **ticket_fields,
                "updated_at": _time(solved + timedelta(minutes=5)), "satisfaction_score": rating,
            },
        ]  # fmt: skip
    return bodies

"""Rolling experience KPIs as published on the KPI topic: one message per key and interval."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.accounts import AccountTier
from schemas.touchpoints import ContactPoint


class KpiUpdate(BaseModel):
    """Every KPI of one account x contact point over each window, as of an event time.

    Sent at most once per throttle interval per account x contact point, not once per event.
    ``windows`` maps a window name (``1h``, ``24h``, ``7d``, ``30d``) to KPI name -> value;
    ``None`` means no data in that window. ``experience_score`` (0-100) is one of the KPIs.

    With ``contact_point="overall"`` the update is the account's health across its contact
    points: ``experience_score`` (weighted) and ``worst_of_poor`` (1 when ANY contact point
    scores below the poor threshold, the rule that matters for strategic accounts).
    """

    model_config = ConfigDict(frozen=True)

    account_id: str
    contact_point: ContactPoint | Literal["overall"]
    tier: AccountTier
    as_of: AwareDatetime
    """The stream time the values are as of: the latest event time the worker has seen in the
    account's partition, advanced with the clock while the partition is quiet (see
    ``KAM_WORKER_IDLE_ADVANCE_SECONDS``)."""
    computed_at: AwareDatetime
    windows: dict[str, dict[str, float | None]]
    window_bounds: dict[str, tuple[AwareDatetime, AwareDatetime]] = Field(default_factory=dict)
    """Window name -> ``[start, end)`` the window's values cover (bucket-aligned: a window
    ends at the end of the bucket of ``as_of`` of its tier, e.g. 5 minutes for ``1h``)."""
    counted_offset: int | None = None
    """Source offset of the last event counted in these values (all events of an account
    share one partition): with ``as_of``, the update's version (:mod:`schemas.origins`)."""

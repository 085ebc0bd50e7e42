"""The remembered state of one alert key, and its compact JSON-compatible form.

Times are epoch seconds (UTC). Event-level states exist while the alert fires; KPI states also
remember the last value while not firing, so the first notification can show the trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from schemas import AccountContext, AccountTier, Severity
from streams.alerting.exceptions import AlertStateError

StateKind = Literal["event", "kpi"]


@dataclass(slots=True, kw_only=True)
class AlertState:
    """Lifecycle memory of one alert key (see ``docs/alert-rules.md``)."""

    kind: StateKind
    firing: bool = False
    severity: Severity | None = None
    started_at: float = 0.0
    """Event time the condition started (first bad event, or the KPI snapshot's ``as_of``)."""
    emitted_at: float | None = None
    """Stream time of the last FIRING notification (new, updated or repeat)."""
    emitted_severity: Severity | None = None
    emitted_value: float | None = None
    value: float | None = None
    previous: float | None = None
    last_bad_at: float = 0.0
    """Stream time of its partition when the latest bad event was read (event-level quiet
    period)."""
    count: int = 0
    event_ids: list[str] = field(default_factory=list)
    pending: bool = False
    """Material new evidence not yet notified."""
    summary: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    account: AccountContext = field(
        default_factory=lambda: AccountContext(tier=AccountTier.UNKNOWN)
    )

    def to_primitive(self) -> dict[str, Any]:
        """Short-keyed dict of JSON-compatible values (a Faust table value)."""
        return {
            "k": self.kind,
            "f": self.firing,
            "s": self.severity.value if self.severity else None,
            "t0": self.started_at,
            "te": self.emitted_at,
            "se": self.emitted_severity.value if self.emitted_severity else None,
            "ve": self.emitted_value,
            "v": self.value,
            "pv": self.previous,
            "tb": self.last_bad_at,
            "n": self.count,
            "ids": list(self.event_ids),
            "p": self.pending,
            "sum": self.summary,
            "ev": self.evidence,
            "a": [
                self.account.name,
                self.account.tier.value,
                self.account.kam_owner,
                self.account.kam_team,
            ],
        }

    @classmethod
    def from_primitive(cls, key: str, data: Any) -> AlertState:
        """Rebuild a state from :meth:`to_primitive` output (raises :class:`AlertStateError`)."""
        try:
            name, tier, owner, team = data["a"]
            return cls(
                kind=_kind(data["k"]),
                firing=bool(data["f"]),
                severity=Severity(data["s"]) if data["s"] else None,
                started_at=float(data["t0"]),
                emitted_at=_float(data["te"]),
                emitted_severity=Severity(data["se"]) if data["se"] else None,
                emitted_value=_float(data["ve"]),
                value=_float(data["v"]),
                previous=_float(data["pv"]),
                last_bad_at=float(data["tb"]),
                count=int(data["n"]),
                event_ids=[str(event_id) for event_id in data["ids"]],
                pending=bool(data["p"]),
                summary=str(data["sum"]),
                evidence=dict(data["ev"]),
                account=AccountContext(
                    tier=AccountTier(tier), name=name, kam_owner=owner, kam_team=team
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise AlertStateError(key, f"{type(error).__name__}: {error}") from error


def _kind(value: Any) -> StateKind:
    if value == "event":
        return "event"
    if value == "kpi":
        return "kpi"
    raise ValueError(f"unknown state kind {value!r}")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)

"""Errors of the KPI engine."""

from __future__ import annotations

from kam.errors import KamError


class KpiError(KamError):
    """Base class of the KPI engine's errors."""


class StateMismatchError(KpiError):
    """An event was applied to the state of another contact point."""


class StateDecodeError(KpiError):
    """Stored state bytes cannot be read (unknown format version or corrupt payload)."""

"""Fairness: is the company really serving strategic accounts better (treatment gap), and do
they give back what that costs (reciprocity review)? Pure cores plus their ClickHouse readers."""

from sinks.fairness.config import (
    FairnessConfig,
    FairnessConfigError,
    GapRule,
    ReviewConfig,
    load_fairness_config,
)
from sinks.fairness.gaps import TierValues, evaluate, relative_gap, treatment_gap
from sinks.fairness.review import AccountSignals, Reciprocity, ReviewFinding, review, score

__all__ = [
    "AccountSignals",
    "FairnessConfig",
    "FairnessConfigError",
    "GapRule",
    "Reciprocity",
    "ReviewConfig",
    "ReviewFinding",
    "TierValues",
    "evaluate",
    "load_fairness_config",
    "relative_gap",
    "review",
    "score",
    "treatment_gap",
]

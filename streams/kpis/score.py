"""Experience score 0-100 per contact point and per account, with the worst-of rule."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.touchpoints import ContactPoint
from streams.kpis.config import KpiScoring, ScoreConfig

Band = Literal["green", "amber", "red"]


class AccountHealth(BaseModel):
    """An account's experience across its contact points."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    """Weighted average of the contact points that have a score; ``None`` if none has."""
    band: Band | None
    worst_of_poor: bool
    """True when ANY contact point scores below the poor threshold."""
    poor_contact_points: tuple[ContactPoint, ...]
    contact_point_scores: dict[ContactPoint, float | None]


def anchor_score(value: float, scoring: KpiScoring) -> float:
    """Interpolate ``value`` between the anchors; flat beyond the first and last."""
    points = scoring.anchors
    if value <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if value <= x1:
            return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
    return points[-1][1]


def band_of(score: float | None, config: ScoreConfig) -> Band | None:
    if score is None:
        return None
    if score >= config.green_min:
        return "green"
    return "amber" if score >= config.amber_min else "red"


def score_contact_point(
    contact_point: ContactPoint, snapshot: Mapping[str, float | None], config: ScoreConfig
) -> float | None:
    """Weighted average of the anchored scores of the KPIs that have a value."""
    total = weights = 0.0
    for name, scoring in config.kpis.get(contact_point, {}).items():
        value = snapshot.get(name)
        if value is not None:
            total += scoring.weight * anchor_score(value, scoring)
            weights += scoring.weight
    return total / weights if weights else None


def score_account(
    snapshots: Mapping[ContactPoint, Mapping[str, float | None]], config: ScoreConfig
) -> AccountHealth:
    """Score each contact point's snapshot, then the account (weighted) and the worst-of flag."""
    scores = {
        ContactPoint(cp): score_contact_point(ContactPoint(cp), snapshot, config)
        for cp, snapshot in snapshots.items()
    }
    account, poor = combine_scores(scores, config)
    return AccountHealth(
        score=account,
        band=band_of(account, config),
        worst_of_poor=bool(poor),
        poor_contact_points=poor,
        contact_point_scores=scores,
    )


def combine_scores(
    scores: Mapping[ContactPoint, float | None], config: ScoreConfig
) -> tuple[float | None, tuple[ContactPoint, ...]]:
    """The account's score from its contact points' (weighted; ``None`` if none has one) and
    the contact points scoring below the poor threshold (the worst-of rule)."""
    total = weights = 0.0
    for cp, score in scores.items():
        weight = config.contact_point_weights.get(cp, 0.0)
        if score is not None and weight > 0:
            total += weight * score
            weights += weight
    poor = tuple(
        cp for cp, score in scores.items() if score is not None and score < config.poor_threshold
    )
    return (total / weights if weights else None), poor

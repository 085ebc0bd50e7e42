"""The contact point specs by contact point."""

from __future__ import annotations

from schemas.touchpoints import ContactPoint
from streams.kpis import billing, logistics, sales, support
from streams.kpis.spec import ContactPointSpec

SPECS: dict[ContactPoint, ContactPointSpec] = {
    spec.contact_point: spec for spec in (sales.SPEC, logistics.SPEC, support.SPEC, billing.SPEC)
}

KPI_NAMES: dict[ContactPoint, tuple[str, ...]] = {
    contact_point: spec.kpi_names() for contact_point, spec in SPECS.items()
}
"""Every KPI name each contact point publishes in its snapshots."""

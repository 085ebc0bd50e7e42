"""Support KPIs: first response and resolution times, SLA attainment, CSAT, NPS, reopen and
escalation rates."""

from __future__ import annotations

from enum import IntEnum

from schemas.touchpoints import (
    ContactPoint,
    CsatSubmitted,
    NpsSubmitted,
    TicketEscalated,
    TicketFirstResponse,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    Touchpoint,
)
from streams.kpis.histogram import percentiles
from streams.kpis.spec import (
    ContactPointSpec,
    Kpis,
    Observation,
    SlaTable,
    Totals,
    ratio,
    seconds_between,
)


class C(IntEnum):
    OPENED = 0
    ESCALATED = 1
    REOPENED = 2
    RESPONDED = 3
    RESPONSE_IN_SLA = 4
    RESOLVED = 5
    RESOLUTION_IN_SLA = 6
    CSAT_N = 7
    CSAT_SUM = 8
    CSAT_SATISFIED = 9
    NPS_N = 10
    PROMOTERS = 11
    DETRACTORS = 12


FIRST_RESPONSE, RESOLUTION = 0, 1
_COUNTS = {
    TicketOpened: C.OPENED,
    TicketEscalated: C.ESCALATED,
    TicketReopened: C.REOPENED,
}


def observe(event: Touchpoint, sla: SlaTable) -> Observation | None:
    if isinstance(event, TicketFirstResponse | TicketResolved):
        p = event.payload
        seconds = seconds_between(event.occurred_at, p.opened_at)
        reply_target, resolve_target = sla[p.priority]
        if isinstance(event, TicketFirstResponse):
            met = int(seconds <= reply_target)
            return ((C.RESPONDED, 1), (C.RESPONSE_IN_SLA, met)), ((FIRST_RESPONSE, seconds // 60),)
        met = int(seconds <= resolve_target)
        return ((C.RESOLVED, 1), (C.RESOLUTION_IN_SLA, met)), ((RESOLUTION, seconds // 60),)
    if isinstance(event, CsatSubmitted):
        score = event.payload.score
        return ((C.CSAT_N, 1), (C.CSAT_SUM, score), (C.CSAT_SATISFIED, int(score >= 4))), ()
    if isinstance(event, NpsSubmitted):
        score = event.payload.score
        return ((C.NPS_N, 1), (C.PROMOTERS, int(score >= 9)), (C.DETRACTORS, int(score <= 6))), ()
    counter = _COUNTS.get(type(event))
    return None if counter is None else (((counter, 1),), ())


def kpis(t: Totals) -> Kpis:
    c = t.counts
    reply_p50, reply_p90 = percentiles(t.hists[FIRST_RESPONSE], (50, 90))
    resolve_p50, resolve_p90 = percentiles(t.hists[RESOLUTION], (50, 90))
    nps = ratio(c[C.PROMOTERS] - c[C.DETRACTORS], c[C.NPS_N])
    return {
        "first_response_minutes_p50": reply_p50,
        "first_response_minutes_p90": reply_p90,
        "resolution_minutes_p50": resolve_p50,
        "resolution_minutes_p90": resolve_p90,
        "sla_attainment": ratio(
            c[C.RESPONSE_IN_SLA] + c[C.RESOLUTION_IN_SLA], c[C.RESPONDED] + c[C.RESOLVED]
        ),
        "csat_satisfied_rate": ratio(c[C.CSAT_SATISFIED], c[C.CSAT_N]),
        "csat_avg": ratio(c[C.CSAT_SUM], c[C.CSAT_N]),
        "nps": None if nps is None else 100 * nps,
        "reopen_rate": ratio(c[C.REOPENED], c[C.RESOLVED]),
        "escalation_rate": ratio(c[C.ESCALATED], c[C.OPENED]),
    }


SPEC = ContactPointSpec(
    contact_point=ContactPoint.SUPPORT,
    counters=C,
    histograms=("first_response_minutes", "resolution_minutes"),
    observe=observe,
    kpis=kpis,
)

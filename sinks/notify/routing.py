"""Routing: which receivers (and channels) an alert goes to. Pure functions over the config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from string import Formatter
from typing import Literal
from urllib.parse import quote

from schemas.alerts import Alert
from sinks.notify.config import Match, Route, RoutingConfig

_FORMATTER = Formatter()


@dataclass(frozen=True, slots=True)
class Target:
    """One destination of an alert: a receiver, its channel, and how to group there."""

    receiver: str
    channel: str | None
    route: str
    group_by: Literal["account", "receiver"]
    group_wait: timedelta
    repeat_interval: timedelta


def alert_fields(alert: Alert) -> dict[str, str | None]:
    """The values a template (channel, runbook link) may use."""
    return {
        "alert_key": alert.alert_key,
        "account_id": alert.account_id,
        "account_name": alert.account_name,
        "tier": alert.tier.value,
        "kam_owner": alert.kam_owner,
        "kam_team": alert.kam_team,
        "contact_point": alert.contact_point.value,
        "rule": alert.rule,
        "severity": alert.severity.value,
        "status": alert.status.value,
    }


def fill_template(
    template: str, fields: dict[str, str | None], *, url_quote: bool = False
) -> str | None:
    """``template`` with ``{name}`` filled in, or None when a named field is missing or empty."""
    names = [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    if any(not fields.get(name) for name in names):
        return None
    values = {name: fields[name] or "" for name in names}
    if url_quote:
        values = {name: quote(value, safe="") for name, value in values.items()}
    return template.format_map(values)


def matches(match: Match, alert: Alert) -> bool:
    """Whether every condition of ``match`` holds for ``alert``."""
    conditions: list[tuple[Sequence[object] | None, object]] = [
        (match.tier, alert.tier),
        (match.contact_point, alert.contact_point),
        (match.severity, alert.severity),
        (match.kam_team, alert.kam_team),
        (match.kam_owner, alert.kam_owner),
        (match.rule, alert.rule),
        (match.account_id, alert.account_id),
    ]
    return all(wanted is None or value in wanted for wanted, value in conditions)


def matching_routes(alert: Alert, config: RoutingConfig) -> list[Route]:
    """Routes in order until the first match without ``continue``; the default route if none."""
    found: list[Route] = []
    for route in config.routes:
        if matches(route.match, alert):
            found.append(route)
            if not route.continue_:
                break
    return found or [config.default_route]


def _channel(route: Route, receiver_name: str, alert: Alert, config: RoutingConfig) -> str | None:
    receiver = config.receivers[receiver_name]
    template = route.channel or getattr(receiver, "channel", None)
    if template is None:
        return None
    filled = fill_template(template, alert_fields(alert))
    return filled if filled is not None else getattr(receiver, "fallback_channel", None)


def route_alert(alert: Alert, config: RoutingConfig) -> list[Target]:
    """Every (receiver, channel) the alert goes to, each once; empty means nowhere."""
    targets: dict[tuple[str, str | None], Target] = {}
    for route in matching_routes(alert, config):
        for receiver in route.receivers:
            channel = _channel(route, receiver, alert, config)
            targets.setdefault(
                (receiver, channel),
                Target(
                    receiver=receiver,
                    channel=channel,
                    route=route.name,
                    group_by=route.group_by,
                    group_wait=route.group_wait or config.defaults.group_wait,
                    repeat_interval=route.repeat_interval or config.defaults.repeat_interval,
                ),
            )
    return list(targets.values())

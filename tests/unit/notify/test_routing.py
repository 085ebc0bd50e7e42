"""Routing by tier, severity, team and owner, with continue semantics and a default route."""

from __future__ import annotations

from datetime import timedelta

from schemas.accounts import AccountTier
from schemas.alerts import Severity
from sinks.notify.routing import fill_template, route_alert
from tests.unit.notify.factories import ROUTED, make_alert


def _where(**kwargs: object) -> list[tuple[str, str | None, str]]:
    return [(t.receiver, t.channel, t.route) for t in route_alert(make_alert(**kwargs), ROUTED)]


def test_strategic_critical_goes_to_owner_and_team_oncall() -> None:
    assert _where() == [
        ("slack", "@maria", "strategic-owner"),
        ("oncall", None, "strategic-oncall"),
    ]


def test_strategic_warning_goes_to_owner_only() -> None:
    assert _where(severity=Severity.WARNING) == [("slack", "@maria", "strategic-owner")]


def test_other_team_is_not_paged() -> None:
    assert _where(team="support-emea") == [("slack", "@maria", "strategic-owner")]


def test_no_owner_falls_back_to_channel() -> None:
    assert _where(owner=None) == [
        ("slack", "#kam-unassigned", "strategic-owner"),
        ("oncall", None, "strategic-oncall"),
    ]


def test_standard_accounts_digest_or_nowhere() -> None:
    digest = route_alert(make_alert(tier=AccountTier.STANDARD, severity=Severity.WARNING), ROUTED)
    assert [(t.receiver, t.group_by, t.group_wait) for t in digest] == [
        ("digest", "receiver", timedelta(hours=24)),
    ]
    assert _where(tier=AccountTier.STANDARD, severity=Severity.INFO) == []


def test_unmatched_goes_to_default_route() -> None:
    assert _where(tier=AccountTier.KEY) == [("am", None, "default")]


def test_route_defaults_apply() -> None:
    target = route_alert(make_alert(), ROUTED)[0]
    assert (target.group_wait, target.repeat_interval) == (
        timedelta(seconds=30), timedelta(hours=4),
    )


def test_fill_template() -> None:
    fields = {"account_id": "ACC 1/x", "rule": "otif", "kam_owner": None}
    assert fill_template("{account_id}-{rule}", fields) == "ACC 1/x-otif"
    assert fill_template("a={account_id}", fields, url_quote=True) == "a=ACC%201%2Fx"
    assert fill_template("@{kam_owner}", fields) is None
    assert fill_template("#static", fields) == "#static"

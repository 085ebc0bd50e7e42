"""The routing configuration (TOML, validated by pydantic): receivers, routes, grouping, retries.

Secrets never sit in the file: a receiver names the environment variable holding them
(``url_env``, ``routing_key_env``, ``secret_env``) and :func:`load_routing_config` resolves
them into ``SecretStr``. Validation errors never echo input values.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from schemas.accounts import AccountTier
from schemas.alerts import Severity
from schemas.touchpoints import ContactPoint
from sinks.notify.exceptions import RoutingConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> Any:
    """``"30s"``, ``"5m"``, ``"24h"``, ``"1d"``, ``"500ms"`` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and (found := _DURATION.match(value)):
        return timedelta(seconds=float(found[1]) * _UNIT_SECONDS[found[2]])
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
AnyOf = Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]
ReceiverKind = Literal["alertmanager", "pagerduty", "slack", "webhook"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class _Receiver(_Strict):
    """Base of receiver configs: ``*_env`` keys are replaced by that variable's value."""

    url: SecretStr

    @model_validator(mode="before")
    @classmethod
    def _resolve_env(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        env: Mapping[str, str] = (info.context or {}).get("env", os.environ)
        resolved = {key: value for key, value in data.items() if not key.endswith("_env")}
        for key, variable in data.items():
            if not key.endswith("_env"):
                continue
            target = key.removesuffix("_env")
            if target in data:
                raise ValueError(f"set either {target} or {key}, not both")
            if variable not in env:
                raise ValueError(f"environment variable {variable} (for {key}) is not set")
            resolved[target] = env[variable]
        return resolved


class AlertmanagerReceiver(_Receiver):
    """Prometheus Alertmanager API v2 (``url`` is its base, e.g. ``http://127.0.0.1:9093``).

    A firing alert is posted with ``endsAt = updated_at + firing_ttl`` so that it stays active
    without re-posting; a resolved one with ``endsAt = updated_at``.
    """

    kind: Literal["alertmanager"]
    firing_ttl: Duration = timedelta(hours=24)


class PagerDutyReceiver(_Receiver):
    """PagerDuty Events API v2; one event per alert, ``dedup_key`` derived from the alert key."""

    kind: Literal["pagerduty"]
    url: SecretStr = SecretStr("https://events.pagerduty.com/v2/enqueue")
    routing_key: SecretStr


class SlackReceiver(_Receiver):
    """A Slack-compatible incoming webhook; one message per group of alerts."""

    kind: Literal["slack"]
    channel: str | None = None
    fallback_channel: str | None = None
    username: str | None = None


class WebhookReceiver(_Receiver):
    """A generic JSON webhook signed with HMAC-SHA256 (see ``sinks.notify.signing``)."""

    kind: Literal["webhook"]
    secret: SecretStr
    channel: str | None = None
    fallback_channel: str | None = None


ReceiverConfig = Annotated[
    AlertmanagerReceiver | PagerDutyReceiver | SlackReceiver | WebhookReceiver,
    Field(discriminator="kind"),
]


class Match(_Strict):
    """Conditions of a route; each given field must hold (any of its values), absent = any."""

    tier: list[AccountTier] | None = Field(default=None, min_length=1)
    contact_point: list[ContactPoint] | None = Field(default=None, min_length=1)
    severity: list[Severity] | None = Field(default=None, min_length=1)
    kam_team: AnyOf | None = None
    kam_owner: AnyOf | None = None
    rule: AnyOf | None = None
    account_id: AnyOf | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalars_to_lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: _as_list(value) for key, value in data.items()}
        return data


class Route(_Strict):
    """Where matching alerts go. ``receivers = []`` sends them nowhere (on purpose).

    Routes are tried in order; the first match ends the search unless it sets
    ``continue = true`` (Alertmanager semantics). ``group_by = "receiver"`` with a long
    ``group_wait`` makes a digest (e.g. daily) instead of one message per account.
    """

    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(min_length=1)
    match: Match = Match()
    receivers: list[str]
    channel: str | None = None
    continue_: bool = Field(default=False, alias="continue")
    group_by: Literal["account", "receiver"] = "account"
    group_wait: Duration | None = None
    repeat_interval: Duration | None = None


class RuleDoc(_Strict):
    """Plain-words description and playbook of one alert rule."""

    description: str | None = None
    runbook_url: str | None = None


class Defaults(_Strict):
    """``repeat_interval``: least time between two notifications of an unchanged firing alert
    (status and severity the same); 0 leaves the pace to the alert engine's own updates."""

    group_wait: Duration = timedelta(seconds=30)
    repeat_interval: Duration = timedelta(0)
    runbook_url: str | None = None
    """Template with ``{account_id} {contact_point} {rule} {severity} {tier} {kam_team}...``."""


class DeliveryPolicy(_Strict):
    """Retries with exponential backoff on 5xx, 429, timeouts and connection errors."""

    max_attempts: int = Field(default=5, ge=1, le=20)
    initial_backoff: Duration = timedelta(seconds=1)
    max_backoff: Duration = timedelta(seconds=60)
    multiplier: float = Field(default=2.0, ge=1.0)
    timeout: Duration = timedelta(seconds=10)


class RoutingConfig(_Strict):
    """The whole notifier configuration."""

    defaults: Defaults = Defaults()
    delivery: DeliveryPolicy = DeliveryPolicy()
    receivers: dict[str, ReceiverConfig] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    default_route: Route = Route(name="default", receivers=[])
    rules: dict[str, RuleDoc] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _name_default_route(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("default_route"), dict):
            data = {**data, "default_route": {"name": "default", **data["default_route"]}}
        return data

    @model_validator(mode="after")
    def _check_references(self) -> RoutingConfig:
        names = [route.name for route in self.routes]
        if len(names) != len(set(names)):
            raise ValueError("route names must be unique")
        if self.default_route.match != Match():
            raise ValueError("default_route matches everything; it takes no 'match'")
        for route in [*self.routes, self.default_route]:
            unknown = sorted(set(route.receivers) - set(self.receivers))
            if unknown:
                raise ValueError(f"route {route.name!r} names unknown receivers {unknown}")
        return self


def load_routing_config(path: Path, *, env: Mapping[str, str] | None = None) -> RoutingConfig:
    """Read and validate a routing TOML file; secrets come from ``env`` (default: os.environ)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoutingConfigError(f"cannot read routing config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RoutingConfigError(f"routing config {path} is not valid TOML: {exc}") from exc
    try:
        return RoutingConfig.model_validate(
            data, context={"env": os.environ if env is None else env}
        )
    except ValidationError as exc:
        raise RoutingConfigError(f"invalid routing config {path}:\n{exc}") from exc

"""``kam alerts snooze`` refuses bad input before touching Kafka."""

from __future__ import annotations

import argparse
import io

import pytest

from kam.settings import KafkaSettings, TopicSettings
from sinks.notify.commands import add_snooze_arguments, parse_until, snooze_command
from tests.unit.notify.factories import T0

UNREACHABLE = KafkaSettings(bootstrap_servers="127.0.0.1:1")


@pytest.mark.parametrize(
    ("until", "reason", "expected"),
    [
        ("2026-11-28T09:00:00", "visit", "invalid snooze: --until needs a UTC offset"),
        ("tomorrow", "visit", "invalid snooze: Invalid isoformat string"),
        ("2026-11-27T08:00:00Z", "visit", "invalid snooze: --until 2026-11-27T08:00:00Z is not"),
        ("2026-11-28T09:00:00Z", "", "invalid snooze: 1 validation error for Snooze"),
    ],
)
def test_bad_input_exits_2(until: str, reason: str, expected: str) -> None:
    out = io.StringIO()
    code = snooze_command(kafka=UNREACHABLE, topics=TopicSettings(), account_id="ACC-1",
                          until=until, reason=reason, now=T0, out=out)
    assert code == 2
    assert out.getvalue().startswith(expected)


def test_parse_until_accepts_z_and_offsets() -> None:
    assert parse_until("2026-11-28T09:00:00Z").isoformat() == "2026-11-28T09:00:00+00:00"
    assert parse_until("2026-11-28T10:00:00+01:00").utcoffset().total_seconds() == 3600


def test_arguments_match_the_command() -> None:
    parser = argparse.ArgumentParser()
    add_snooze_arguments(parser)
    args = parser.parse_args(["--account", "ACC-1", "--rule", "otif_below_target",
                              "--until", "2026-11-28T09:00:00Z", "--reason", "QBR"])
    assert vars(args) == {"account_id": "ACC-1", "rule": "otif_below_target",
                          "until": "2026-11-28T09:00:00Z", "reason": "QBR", "created_by": None}

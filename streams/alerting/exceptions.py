"""Errors of the alert engine, all rooted at :class:`kam.errors.KamError`."""

from __future__ import annotations

from pathlib import Path

from kam.errors import KamError


class AlertingError(KamError):
    """Base class of the alert engine's errors."""


class AlertRulesError(AlertingError):
    """The alert rules configuration cannot be read or is invalid.

    ``source`` is the file (or ``"<string>"``) and ``problems`` lists one line per defect,
    each with the dotted location of the offending setting.
    """

    def __init__(self, source: Path | str, problems: list[str]) -> None:
        self.source = str(source)
        self.problems = problems
        super().__init__(f"invalid alert rules in {self.source}: " + "; ".join(problems))


class AlertStateError(AlertingError):
    """A stored alert state (e.g. a Faust table value) cannot be decoded."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"cannot decode alert state {key!r}: {detail}")

"""Errors of the account master-data loader; all derive from :class:`kam.errors.KamError`."""

from __future__ import annotations

from kam.errors import KamError


class AccountsError(KamError):
    """Base of the account loader's errors."""


class AccountFileError(AccountsError):
    """The input file as a whole cannot be read (missing, unknown format, bad CSV header)."""


class AccountStateError(AccountsError):
    """The current account state could not be read back from its compacted topic."""


class AccountPublishError(AccountsError):
    """The broker did not accept every record; ``codes`` are librdkafka's error names."""

    def __init__(self, *, failed: int, codes: tuple[str, ...], detail: str) -> None:
        self.failed = failed
        self.codes = codes
        super().__init__(f"{failed} record(s) not delivered ({', '.join(codes)}): {detail}")

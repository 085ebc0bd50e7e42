"""Account master data: load a file, decide tiers, publish accounts and tier changes; explain."""

from producers.accounts.commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REJECTED,
    explain_account_command,
    load_accounts_command,
)
from producers.accounts.exceptions import (
    AccountFileError,
    AccountPublishError,
    AccountsError,
    AccountStateError,
)
from producers.accounts.plan import CurrentState, LoadPlan, plan_load
from producers.accounts.rows import AccountRow, ParsedFile, RowError, parse_account_file

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REJECTED",
    "AccountFileError",
    "AccountPublishError",
    "AccountRow",
    "AccountStateError",
    "AccountsError",
    "CurrentState",
    "LoadPlan",
    "ParsedFile",
    "RowError",
    "explain_account_command",
    "load_accounts_command",
    "parse_account_file",
    "plan_load",
]

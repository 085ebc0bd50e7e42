"""Addresses of board pages, shared by the board and the notifier (pure, no I/O)."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def account_path(account_id: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}"


def account_page_url(base_url: str, account_id: str) -> str:
    """The account page an alert links to: ``<base>/accounts/<id>`` (id percent-encoded)."""
    return base_url.rstrip("/") + account_path(account_id)


def sql_path(name: str, **params: str | None) -> str:
    """The page showing the statement ``name`` with ``params`` (those given)."""
    return f"/sql/{quote(name, safe='')}" + _query(**params)


def portfolio_path(
    *, owner: str | None, tier: str | None, contact_point: str | None, sort: str, order: str
) -> str:
    """The portfolio with these filters and this order."""
    return "/" + _query(owner=owner, tier=tier, contact_point=contact_point, sort=sort,
                        order=order)


def _query(**params: str | None) -> str:
    given = {key: value for key, value in params.items() if value is not None}
    return f"?{urlencode(given)}" if given else ""

"""The account health board (``kam board``): portfolio and account pages read from ClickHouse.

Read-only, server-rendered (aiohttp + Jinja2, charts as pygal SVG): see README "Account health
board". The server lives in :mod:`sinks.board.server` (``BoardServer``, ``board_context``,
``run_board``); this package itself only exports :func:`account_page_url`, what notifications
link to, so that the notifier does not load the web stack.
"""

from sinks.board.links import account_page_url

__all__ = ["account_page_url"]

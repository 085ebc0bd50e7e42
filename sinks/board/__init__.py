"""The account health board (``kam board``): portfolio and account pages read from ClickHouse.

Read-only, server-rendered (aiohttp + Jinja2, charts as pygal SVG): see README "Account health
board". :func:`account_page_url` is what notifications link to.
"""

from sinks.board.links import account_page_url
from sinks.board.server import BoardServer, board_context, run_board

__all__ = ["BoardServer", "account_page_url", "board_context", "run_board"]

"""The board's HTTP side (aiohttp): routes, login, validation and error pages, headers.

Pages are rendered on the server with Jinja2 (autoescaped); the pages carry no script and a
Content-Security-Policy that forbids any. Only GET (and HEAD) are served: nothing changes data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from sinks.board import metrics, pages
from sinks.board.account_view import kpi_text
from sinks.board.auth import TOKEN_COOKIE, Credentials, check
from sinks.board.exceptions import PageError
from sinks.board.links import account_path, portfolio_path, sql_path
from sinks.board.model import PortfolioView
from sinks.board.params import AccountParams, PortfolioParams, SqlParams, account_id, parse

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BOARD_KEY = web.AppKey("board", pages.BoardContext)
CREDENTIALS_KEY = web.AppKey("credentials", Credentials)
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
OPEN_PATHS = frozenset({"/healthz"})


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sinks.board", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(account_path=account_path, sql_path=sql_path, kpi_text=kpi_text,
                       portfolio_path=portfolio_path)
    env.filters["when"] = _when
    return env


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _render(
    request: web.Request, template: str, http_status: int = 200, /, **context: Any
) -> web.Response:
    html = request.app[TEMPLATES_KEY].get_template(template).render(**context)
    return web.Response(text=html, status=http_status, content_type="text/html", charset="utf-8")


@web.middleware
async def _metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: counts every answer with its final status, error pages and refusals too."""
    started = time.perf_counter()
    route = request.match_info.route
    name = (route.name or "other") if route.resource is not None else "other"

    def count(status: int) -> None:
        metrics.REQUESTS.labels(name, str(status)).inc()
        metrics.REQUEST_SECONDS.labels(name).observe(time.perf_counter() - started)

    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect: the error pages are answers already
        count(exc.status)
        raise
    except Exception:
        count(500)  # what aiohttp answers for an exception no middleware turned into a page
        raise
    count(response.status)  # a cancelled request (the server stopping) is not counted
    return response


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PageError as exc:
        if exc.status >= 500:
            log.warning("board: %s: %s", request.path, exc.message)
        return _render(request, "error.html", exc.status, title=exc.title, message=exc.message,
                       status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        page = _render(request, "error.html", exc.status, title=exc.reason,
                       message=exc.text or exc.reason, status=exc.status)
        if "Allow" in exc.headers:  # 405 says which methods are allowed
            page.headers["Allow"] = exc.headers["Allow"]
        return page


@web.middleware
async def _login(request: web.Request, handler: Handler) -> web.StreamResponse:
    credentials = request.app[CREDENTIALS_KEY]
    if request.path in OPEN_PATHS or not credentials.required:
        return await handler(request)
    verdict = await asyncio.to_thread(  # scrypt takes tens of milliseconds: off the loop
        check,
        credentials,
        authorization=request.headers.get("Authorization"),
        query_token=request.query.get("token"),
        cookie=request.cookies.get(TOKEN_COOKIE),
    )
    if not verdict.allowed:
        refusal = _render(request, "error.html", 401, title="Login required", status=401,
                           message="Sign in with your board user name and password, or open "
                           "the link with ?token=... once.")
        challenge = 'Basic realm="KAM Pulse board", charset="UTF-8"' if credentials.users else (
            'Bearer realm="KAM Pulse board"'
        )
        refusal.headers["WWW-Authenticate"] = challenge
        return refusal
    response = await handler(request)
    if verdict.set_cookie is not None:
        public = request.app[BOARD_KEY].settings.public_url or ""
        secure = request.secure or public.startswith("https://")  # TLS at a proxy
        response.set_cookie(TOKEN_COOKIE, verdict.set_cookie, httponly=True, samesite="Strict",
                            secure=secure, path="/")
    return response


async def _run(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    return await asyncio.to_thread(function, *args)


async def portfolio(request: web.Request) -> web.Response:
    params = parse(PortfolioParams, request.query.items())
    view = PortfolioView(owner=params.owner, tier=params.tier, contact_point=params.contact_point,
                         sort=params.sort, descending=params.order == "desc")
    context = await _run(pages.portfolio_page, request.app[BOARD_KEY], view)
    return _render(request, "portfolio.html", **context)


async def account(request: web.Request) -> web.Response:
    parse(AccountParams, request.query.items())
    account_key = account_id(request.match_info["account_id"])
    context = await _run(pages.account_page, request.app[BOARD_KEY], account_key)
    return _render(request, "account.html", **context)


async def sql(request: web.Request) -> web.Response:
    params = parse(SqlParams, request.query.items())
    name = request.match_info["name"]
    context = await _run(pages.sql_page, request.app[BOARD_KEY], name, params)
    return _render(request, "sql.html", **context)


async def stylesheet(request: web.Request) -> web.Response:
    css = resources.files("sinks.board").joinpath("templates/board.css").read_text("utf-8")
    return web.Response(text=css, content_type="text/css", charset="utf-8",
                        headers={"Cache-Control": "max-age=300"})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", content_type="text/plain")


def build_app(board: pages.BoardContext, credentials: Credentials) -> web.Application:
    middlewares = [_metrics, _headers, _errors, _login]
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[BOARD_KEY] = board
    app[CREDENTIALS_KEY] = credentials
    app[TEMPLATES_KEY] = templates()
    app.router.add_get("/", portfolio, name="portfolio")
    app.router.add_get("/accounts/{account_id}", account, name="account")
    app.router.add_get("/sql/{name}", sql, name="sql")
    app.router.add_get("/static/board.css", stylesheet, name="static")
    app.router.add_get("/healthz", healthz, name="healthz")
    return app

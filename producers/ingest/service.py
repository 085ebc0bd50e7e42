"""``kam ingest``: the HTTP front door for source systems that cannot write to Kafka.

A thin aiohttp adapter around the pure parts: :mod:`~producers.ingest.auth` (who),
:mod:`~producers.ingest.ratelimit` (how often), :mod:`~producers.ingest.documents` (what),
:mod:`~producers.ingest.answers` (the answer) and :mod:`~producers.ingest.store` (the broker's
acknowledgement). Every failure is a JSON answer with a stable ``error`` code; an unexpected
exception is logged with its traceback and answered as a bare 500 (no trace to the caller).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from kam.settings import IngestSettings
from producers.ingest import metrics
from producers.ingest.answers import Outcome, refusal, request_answer, request_status
from producers.ingest.auth import TokenBook
from producers.ingest.documents import Invalid, Verdict, check, split_body
from producers.ingest.exceptions import RequestRefusedError
from producers.ingest.openapi import openapi_document
from producers.ingest.ratelimit import RateLimiter, retry_after_header
from producers.ingest.store import EventStore
from producers.ingest.webhooks import Webhook

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
READY_TIMEOUT_SECONDS = 2.0
STATE: web.AppKey[Ingest] = web.AppKey("ingest")


@dataclass(slots=True)
class Ingest:
    """What the handlers share: settings, tokens, rate limits, the store, the webhooks."""

    settings: IngestSettings
    tokens: TokenBook
    store: EventStore
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.limiter = RateLimiter(rate=settings.rate_per_second, burst=settings.rate_burst)

    def throttle(self, key: str) -> None:
        wait = self.limiter.acquire(key, self.clock())
        if wait > 0:
            raise RequestRefusedError(
                429, "rate_limited", f"more than {self.settings.rate_per_second:g} requests/s",
                retry_after=wait,
            )  # fmt: skip

    async def read_body(self, request: web.Request) -> bytes:
        """The whole body within the size and time limits (413, 408)."""
        limit = self.settings.max_body_bytes
        too_large = RequestRefusedError(413, "body_too_large", f"the body is over {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout_seconds):
                async for chunk in request.content.iter_any():
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestRefusedError(
                408, "body_timeout",
                f"the body did not arrive within {self.settings.body_timeout_seconds:g} s",
            ) from None  # fmt: skip
        except (ConnectionError, HttpProcessingError, ClientPayloadError) as exc:
            raise RequestRefusedError(
                400, "body_incomplete", f"the body did not arrive whole ({type(exc).__name__})"
            ) from None  # the sender went away or broke its framing: nobody to tell more
        return b"".join(chunks)

    async def answer(
        self, request: web.Request, verdicts: list[Verdict], *, source_system: str, webhook: bool
    ) -> web.Response:
        """Store the verdicts, count them, and answer per event."""
        request_id = request[REQUEST_ID]
        outcomes = await self.store.store(
            verdicts, source_system=source_system, request_id=request_id
        )
        _count(request[ENDPOINT], outcomes)
        status = request_status(outcomes)
        if webhook and status != 503:
            status = 200  # the vendor retries anything else; what it sent is stored either way
        body = request_answer(outcomes, request_id=request_id, source_system=source_system)
        headers = (
            {"Retry-After": str(self.settings.retry_after_seconds)} if status == 503 else None
        )
        return _json(body, status=status, headers=headers)


REQUEST_ID = "kam_request_id"
ENDPOINT = "kam_endpoint"


def _json(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def _count(endpoint: str, outcomes: list[Outcome]) -> None:
    """Counted per label set first: one increment per label set, not per event."""
    for label, count in Counter(outcome.label for outcome in outcomes).items():
        metrics.EVENTS.labels(endpoint, label).inc(count)
    rejected = Counter(
        o.verdict.rejection.failure_type.value for o in outcomes if isinstance(o.verdict, Invalid)
    )
    for failure_type, count in rejected.items():
        metrics.EVENTS_REJECTED.labels(failure_type).inc(count)


@web.middleware
async def _answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, metrics, and a JSON answer for every failure (never a traceback)."""
    started = time.perf_counter()
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    route = request.match_info.route
    endpoint = route.name or "other" if route.resource is not None else "other"
    request[REQUEST_ID], request[ENDPOINT] = request_id, endpoint
    response: web.StreamResponse
    try:
        response = await handler(request)
    except RequestRefusedError as exc:
        headers = {"Retry-After": retry_after_header(exc.retry_after)} if exc.retry_after else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="kam-ingest"'
        response = _json(
            refusal(exc.code, exc.message, request_id=request_id),
            status=exc.status,
            headers=headers,
        )
        if exc.status in (408, 413):
            response.force_close()  # the rest of the body is not read: do not reuse the stream
    except web.HTTPException as exc:  # routing: 404, 405
        code = exc.reason.lower().replace(" ", "_")
        response = _json(refusal(code, exc.reason, request_id=request_id), status=exc.status)
    except Exception:
        log.exception("request %s to %s failed", request_id, request.path)
        message = "the request failed; see the service log"
        response = _json(refusal("internal_error", message, request_id=request_id), status=500)
    response.headers["X-Request-Id"] = request_id
    metrics.REQUESTS.labels(endpoint, str(response.status)).inc()
    metrics.REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    return response


async def _touchpoints(request: web.Request) -> web.Response:
    ingest = request.app[STATE]
    source_system = ingest.tokens.source_system(request.headers.get("Authorization"))
    if source_system is None:
        raise RequestRefusedError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
    ingest.throttle(source_system)
    body = await ingest.read_body(request)
    documents = split_body(
        request.headers.get("Content-Type"), body, max_events=ingest.settings.max_events
    )
    verdicts = [
        check(
            document,
            index=index,
            source_system=source_system,
            max_event_bytes=ingest.settings.max_event_bytes,
        )
        for index, document in enumerate(documents)
    ]
    return await ingest.answer(request, verdicts, source_system=source_system, webhook=False)


async def _webhook(request: web.Request) -> web.Response:
    ingest = request.app[STATE]
    webhook = ingest.webhooks.get(request.match_info["vendor"])
    if webhook is None:
        raise RequestRefusedError(404, "not_found", "no such webhook is configured")
    ingest.throttle(f"webhook:{webhook.source_system}")
    body = await ingest.read_body(request)
    webhook.verify(request.headers, body, now=time.time())
    verdicts = webhook.verdicts(body)
    return await ingest.answer(
        request, verdicts, source_system=webhook.source_system, webhook=True
    )


async def _healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    store = request.app[STATE].store
    loop = asyncio.get_running_loop()
    if await loop.run_in_executor(None, store.reachable, READY_TIMEOUT_SECONDS):
        return _json({"status": "ready"})
    return _json({"status": "broker unreachable"}, status=503)


async def _metrics(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest(REGISTRY))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def _openapi(request: web.Request) -> web.Response:
    return _json(openapi_document())


def build_app(ingest: Ingest) -> web.Application:
    """The aiohttp application; its routes' names are the metrics' ``endpoint`` label."""
    app = web.Application(
        middlewares=[_answers], client_max_size=ingest.settings.max_body_bytes
    )
    app[STATE] = ingest
    app.router.add_post("/v1/touchpoints", _touchpoints, name="touchpoints")
    app.router.add_post("/v1/webhooks/{vendor}", _webhook, name="webhooks")
    app.router.add_get("/healthz", _healthz, name="healthz")
    app.router.add_get("/readyz", _readyz, name="readyz")
    app.router.add_get("/metrics", _metrics, name="metrics")
    app.router.add_get("/openapi.json", _openapi, name="openapi")
    return app


async def serve(ingest: Ingest, stop: threading.Event) -> None:
    """Serve until ``stop`` is set; in-flight requests get their answer before the exit."""
    runner = web.AppRunner(
        build_app(ingest),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=30.0,
        keepalive_timeout=ingest.settings.idle_timeout_seconds,
    )
    await runner.setup()
    site = web.TCPSite(runner, ingest.settings.host, ingest.settings.port)
    await site.start()
    log.info("kam ingest listening on %s", site.name)
    try:
        while not stop.is_set():
            await asyncio.sleep(0.2)
    finally:
        await runner.cleanup()

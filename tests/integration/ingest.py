"""Running ``kam ingest`` in a test: tokens, a port, an HTTP client, waits on its probes."""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from kam.localkafka import free_port
from kam.processes import ServiceProcess
from producers.ingest import new_token, token_hash
from tests.integration.conftest import Pipeline
from tests.integration.helpers import wait_for

SOURCES = ("crm", "helpdesk")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class IngestService:
    process: ServiceProcess
    port: int
    tokens: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            raw = response.read()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()
        is_json = "json" in answer_headers.get("content-type", "")
        decoded = json.loads(raw) if raw and is_json else {}
        return Answer(response.status, decoded, answer_headers)

    def post(
        self,
        body: bytes | list[Any] | dict[str, Any],
        *,
        source: str | None = "crm",
        content_type: str = "application/json",
        path: str = "/v1/touchpoints",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": content_type, **(headers or {})}
        if source is not None:
            sent["Authorization"] = f"Bearer {self.tokens[source]}"
        return self.request("POST", path, raw, headers=sent)

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=2).status == 200
        except OSError:
            return False

    def raw_connection(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)


def start_ingest(
    pipeline: Pipeline, *, env: dict[str, str] | None = None, name: str = "ingest"
) -> IngestService:
    """``kam ingest`` with a token per :data:`SOURCES`, serving once ``/healthz`` answers."""
    tokens = {source: new_token() for source in SOURCES}
    port = free_port()
    lines = "\n".join(f"{source} {token_hash(token)}" for source, token in tokens.items())
    process = pipeline.service(
        ["ingest"],
        name=name,
        env={
            "KAM_INGEST_PORT": str(port),
            "KAM_INGEST_TOKENS": lines,
            "KAM_INGEST_DELIVERY_TIMEOUT_SECONDS": "4",
            **(env or {}),
        },
    )
    service = IngestService(process, port, tokens)
    wait_for(service.healthy, timeout=60, what="kam ingest to serve", alive=[process])
    return service


def read_answer(sock: socket.socket, timeout: float = 30.0) -> tuple[int, bytes]:
    """Status and body of the one answer on a raw connection (the server closes it or sends a
    Content-Length)."""
    status, _, body = read_response(sock, timeout)
    return status, body


def read_response(sock: socket.socket, timeout: float = 30.0) -> tuple[int, bytes, bytes]:
    """Status, header block and body of the one answer on a raw connection."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        None,
    )  # fmt: skip
    while length is not None and len(rest) < length and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, head, rest

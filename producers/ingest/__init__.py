"""``kam ingest``: touchpoints over HTTP, and vendor webhooks, onto Kafka with the SDK's rules."""

from producers.ingest.answers import Outcome, request_status
from producers.ingest.auth import TokenBook, load_tokens, new_token, parse_tokens, token_hash
from producers.ingest.documents import Invalid, Valid, Verdict, check, split_body
from producers.ingest.exceptions import IngestConfigError, RequestRefusedError
from producers.ingest.ratelimit import RateLimiter
from producers.ingest.run import run_ingest

__all__ = [
    "IngestConfigError",
    "Invalid",
    "Outcome",
    "RateLimiter",
    "RequestRefusedError",
    "TokenBook",
    "Valid",
    "Verdict",
    "check",
    "load_tokens",
    "new_token",
    "parse_tokens",
    "request_status",
    "run_ingest",
    "split_body",
    "token_hash",
]

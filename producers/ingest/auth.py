"""Bearer tokens per source system, kept only as their SHA-256 and compared in constant time.

The configuration names each source system with the hash of its token
(``crm sha256:<64 hex digits>``), so neither the environment nor a file holds a usable
secret. A presented token is hashed and compared with every configured hash by
:func:`hmac.compare_digest`, so the time an answer takes says nothing about which hash (or how
much of one) matched. Pure: no I/O besides :func:`load_tokens` reading the optional file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from producers.ingest.exceptions import IngestConfigError
from schemas.wire import MAX_ID_CHARS

_ENTRY = re.compile(r"^(?P<source>\S+)\s+sha256:(?P<digest>[0-9a-f]{64})$")


def token_hash(token: str) -> str:
    """What the configuration holds for ``token``: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class TokenBook:
    """The configured (digest, source system) pairs."""

    entries: tuple[tuple[bytes, str], ...]

    def source_system(self, authorization: str | None) -> str | None:
        """The source system an ``Authorization: Bearer <token>`` header names, else ``None``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hashlib.sha256(token.strip().encode()).digest()
        found: str | None = None
        for stored, source in self.entries:  # every entry, always: no early exit to time
            if hmac.compare_digest(stored, digest):
                found = source
        return found


def parse_tokens(text: str, *, where: str) -> TokenBook:
    """Entries from lines or ``;``-separated items; ``#`` starts a comment."""
    entries: list[tuple[bytes, str]] = []
    items = [item for line in text.splitlines() for item in line.split(";")]
    for number, raw in enumerate(items, start=1):
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        match = _ENTRY.match(item)
        if match is None:
            raise IngestConfigError(
                f"{where}: entry {number} is not '<source_system> sha256:<64 hex digits>' "
                "(store the token's hash, never the token: `kam ingest-token SOURCE`)"
            )
        source = match["source"]
        if len(source) > MAX_ID_CHARS:
            raise IngestConfigError(f"{where}: entry {number}: source system over 128 chars")
        entries.append((bytes.fromhex(match["digest"]), source))
    digests = [digest for digest, _ in entries]
    if len(set(digests)) != len(digests):
        raise IngestConfigError(f"{where}: one token hash is listed twice")
    return TokenBook(tuple(entries))


def load_tokens(*, inline: str | None, path: Path | None) -> TokenBook:
    """The tokens of ``KAM_INGEST_TOKENS`` and of the file ``KAM_INGEST_TOKENS_PATH``."""
    book = parse_tokens(inline or "", where="KAM_INGEST_TOKENS")
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise IngestConfigError(
                f"cannot read the tokens file {path} (KAM_INGEST_TOKENS_PATH): {exc.strerror}"
            ) from exc
        book = TokenBook(book.entries + parse_tokens(text, where=str(path)).entries)
    return book

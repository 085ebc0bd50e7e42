"""Who may see the board: pure checks of an HTTP ``Authorization`` header (or a token cookie).

Basic-auth passwords are stored only as scrypt hashes (``scrypt$n$r$p$salt$hash``, base64);
the token is compared in constant time. Login is off only on a loopback address with no
credentials configured (:func:`load_credentials` refuses anything else).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from kam.settings import BoardSettings
from sinks.board.exceptions import BoardConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_PREFIX = "scrypt"
TOKEN_COOKIE = "kam_board_token"
"""Set after a browser brought ``?token=``: the token's SHA-256, never the token itself."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The stored form of a basic-auth password."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    encoded = (base64.b64encode(part).decode() for part in (salt, digest))
    return "$".join((_PREFIX, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), *encoded))


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _PREFIX:
        raise ValueError("not a scrypt hash (make one with `kam board --hash-password`)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(
            parts[5], validate=True
        )
    except (ValueError, binascii.Error):
        raise ValueError("a scrypt hash with unreadable parameters") from None
    if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 16) or not salt or not digest:
        raise ValueError("a scrypt hash with parameters out of range")
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (a :func:`hash_password` result)."""
    n, r, p, salt, digest = _parse_hash(stored)
    candidate = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=2**27
    )
    return hmac.compare_digest(candidate, digest)


_UNKNOWN_USER = hash_password("not a user", salt=b"kam-board-nobody")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the board accepts; with neither a token nor users, everyone is let in."""

    token_sha256: str | None = None
    users: dict[str, str] = field(default_factory=dict)
    """User name -> scrypt hash."""

    @property
    def required(self) -> bool:
        return self.token_sha256 is not None or bool(self.users)


def parse_users(text: str, *, source: str) -> dict[str, str]:
    """``name:hash`` entries separated by newlines or commas; ``#`` starts a comment line."""
    users: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    for number, entry in enumerate(entries, start=1):
        if not entry or entry.startswith("#"):
            continue
        name, sep, stored = entry.partition(":")
        if not sep or not name.strip():
            raise BoardConfigError(f"{source}: entry {number} is not name:scrypt-hash")
        try:
            _parse_hash(stored.strip())
        except ValueError as exc:
            raise BoardConfigError(f"{source}: user {name.strip()!r}: {exc}") from None
        users[name.strip()] = stored.strip()
    return users


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BoardConfigError(f"cannot read the board's {what} {path}: {exc.strerror}") from exc


def load_credentials(settings: BoardSettings) -> Credentials:
    """The credentials configured in ``settings`` (files read now); refuses an open board on
    anything but a loopback address."""
    if settings.token and settings.token_file:
        raise BoardConfigError("set KAM_BOARD_TOKEN or KAM_BOARD_TOKEN_FILE, not both")
    if settings.users and settings.users_file:
        raise BoardConfigError("set KAM_BOARD_USERS or KAM_BOARD_USERS_FILE, not both")
    token = settings.token.get_secret_value() if settings.token else None
    if settings.token_file:
        lines = _read(settings.token_file, "token file").strip().splitlines()
        token = lines[0].strip() if lines else ""
    if token is not None and len(token) < 16:
        raise BoardConfigError("the board's token must be at least 16 characters long")
    users: dict[str, str] = {}
    if settings.users:
        users = parse_users(settings.users.get_secret_value(), source="KAM_BOARD_USERS")
    elif settings.users_file:
        text = _read(settings.users_file, "users file")
        users = parse_users(text, source=f"the board's users file {settings.users_file}")
    credentials = Credentials(token_sha256=token_digest(token) if token else None, users=users)
    if not credentials.required and not settings.loopback:
        raise BoardConfigError(
            f"the board listens on {settings.host}, not only on this machine: set KAM_BOARD_TOKEN"
            " (or _TOKEN_FILE) or KAM_BOARD_USERS (or _USERS_FILE), or bind 127.0.0.1"
        )
    return credentials


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    user: str | None = None
    set_cookie: str | None = None
    """A token digest to remember in a cookie (the browser brought ``?token=``)."""


def check(
    credentials: Credentials,
    *,
    authorization: str | None,
    query_token: str | None,
    cookie: str | None,
) -> Verdict:
    """Whether a request may see the board."""
    if not credentials.required:
        return Verdict(allowed=True)
    expected = credentials.token_sha256
    if expected is not None:
        if query_token is not None and hmac.compare_digest(token_digest(query_token), expected):
            return Verdict(allowed=True, user="token", set_cookie=expected)
        if cookie is not None and hmac.compare_digest(cookie, expected):
            return Verdict(allowed=True, user="token")
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and expected is not None:
        if hmac.compare_digest(token_digest(value.strip()), expected):
            return Verdict(allowed=True, user="token")
    elif scheme.lower() == "basic" and credentials.users:
        user = _basic_user(value.strip(), credentials.users)
        if user is not None:
            return Verdict(allowed=True, user=user)
    return Verdict(allowed=False)


def _basic_user(value: str, users: dict[str, str]) -> str | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    stored = users.get(name)
    # an unknown user costs one scrypt too, so that timing does not tell which names exist
    matches = verify_password(password, stored or _UNKNOWN_USER)
    return name if sep and stored is not None and matches else None

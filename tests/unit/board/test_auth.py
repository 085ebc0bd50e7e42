"""Login rules: open only on loopback without credentials; tokens and scrypt-hashed users."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from kam.settings import BoardSettings
from sinks.board.auth import (
    TOKEN_COOKIE,
    Credentials,
    check,
    hash_password,
    load_credentials,
    parse_users,
    token_digest,
    verify_password,
)
from sinks.board.exceptions import BoardConfigError
from tests.unit.board.conftest import BoardFactory, get

TOKEN = "board-token-0123456789"
ANA = hash_password("correct horse", salt=b"0123456789abcdef")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_hash_and_verify() -> None:
    assert ANA.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", ANA)
    assert not verify_password("correct horsE", ANA)
    assert hash_password("x") != hash_password("x")  # fresh salt each time
    with pytest.raises(ValueError, match="not a scrypt hash"):
        verify_password("x", "plaintext")
    with pytest.raises(ValueError, match="empty password"):
        hash_password("")


def test_users_file_format(tmp_path: Path) -> None:
    assert parse_users(f"# team\nana:{ANA}\n\nben:{ANA}", source="f") == {"ana": ANA, "ben": ANA}
    assert parse_users(f"ana:{ANA},ben:{ANA}", source="env") == {"ana": ANA, "ben": ANA}
    with pytest.raises(BoardConfigError, match="f: entry 1 is not name:scrypt-hash"):
        parse_users("ana", source="f")
    with pytest.raises(BoardConfigError, match="user 'ana': not a scrypt hash"):
        parse_users("ana:secret", source="f")  # a plain password is refused


def test_open_only_on_loopback(tmp_path: Path) -> None:
    assert not load_credentials(BoardSettings()).required
    assert not load_credentials(BoardSettings(host="::1")).required
    with pytest.raises(BoardConfigError, match=r"listens on 0\.0\.0\.0, not only on this machine"):
        load_credentials(BoardSettings(host="0.0.0.0"))
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    exposed = load_credentials(BoardSettings(host="0.0.0.0", token_file=token))
    assert exposed.token_sha256 == token_digest(TOKEN)
    users = tmp_path / "users"
    users.write_text(f"ana:{ANA}\n")
    assert load_credentials(BoardSettings(host="10.0.0.5", users_file=users)).users == {
        "ana": ANA
    }
    # credentials configured on loopback are required too
    assert load_credentials(BoardSettings(token=SecretStr(TOKEN))).required
    with pytest.raises(BoardConfigError, match="at least 16 characters"):
        load_credentials(BoardSettings(token=SecretStr("short")))
    with pytest.raises(BoardConfigError, match="not both"):
        load_credentials(BoardSettings(token=SecretStr(TOKEN), token_file=token))
    with pytest.raises(BoardConfigError, match="cannot read the board's users file"):
        load_credentials(BoardSettings(users_file=tmp_path / "missing"))


def test_check() -> None:
    both = Credentials(token_sha256=token_digest(TOKEN), users={"ana": ANA})

    def allowed(**given: str | None) -> bool:
        request = {"authorization": None, "query_token": None, "cookie": None, **given}
        return check(both, **request).allowed  # type: ignore[arg-type]

    assert allowed(authorization=f"Bearer {TOKEN}")
    assert not allowed(authorization="Bearer wrong-token-0123456789")
    assert allowed(authorization=basic("ana", "correct horse"))
    assert not allowed(authorization=basic("ana", "wrong"))
    assert not allowed(authorization=basic("eve", "correct horse"))
    assert not allowed(authorization="Basic !!!")
    assert allowed(cookie=token_digest(TOKEN))
    assert not allowed(cookie=TOKEN)  # the cookie holds the digest, never the token
    assert not allowed()
    verdict = check(both, authorization=None, query_token=TOKEN, cookie=None)
    assert (verdict.allowed, verdict.set_cookie) == (True, token_digest(TOKEN))
    assert check(Credentials(), authorization=None, query_token=None, cookie=None).allowed


def test_token_over_http(board: BoardFactory) -> None:
    url = board(credentials=Credentials(token_sha256=token_digest(TOKEN))).url
    refused = get(url + "/accounts/acme")
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="KAM Pulse board"'
    assert "Acme" not in refused.body
    assert get(url + "/", {"Authorization": f"Bearer {TOKEN}"}).status == 200
    assert get(url + "/", {"Authorization": "Bearer nope-nope-nope-nope"}).status == 401
    first = get(url + f"/accounts/acme?token={TOKEN}")
    assert first.status == 200
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={token_digest(TOKEN)};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert get(url + "/", {"Cookie": f"{TOKEN_COOKIE}={token_digest(TOKEN)}"}).status == 200
    assert get(url + "/healthz").status == 200  # liveness shows no data


def test_basic_auth_over_http(board: BoardFactory) -> None:
    url = board(credentials=Credentials(users={"ana": ANA})).url
    refused = get(url + "/")
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"].startswith('Basic realm="KAM Pulse board"')
    assert get(url + "/", {"Authorization": basic("ana", "correct horse")}).status == 200
    assert get(url + "/sql/scores", {"Authorization": basic("ana", "nope")}).status == 401
    assert get(url + f"/?token={TOKEN}").status == 401  # no token configured: not a way in


def test_open_board_needs_no_login(board: BoardFactory) -> None:
    assert get(board().url + "/").status == 200


def test_token_cookie_is_secure_behind_a_tls_proxy(board: BoardFactory) -> None:
    settings = BoardSettings(port=0, public_url="https://kam-board.example.com")
    url = board(settings=settings, credentials=Credentials(token_sha256=token_digest(TOKEN))).url
    first = get(url + f"/?token={TOKEN}")
    assert first.status == 200
    assert "Secure" in first.headers["Set-Cookie"]

"""Webhook signatures: a vector checked with ``openssl dgst -sha256 -hmac``, and verification."""

from __future__ import annotations

from sinks.notify.signing import sign, signed_headers, verify

SECRET = b"whsec-test"
BODY = b'{"a":1}'
SENT_AT = 1764234000
# echo -n '1764234000.{"a":1}' | openssl dgst -sha256 -hmac whsec-test
EXPECTED = "sha256=70effdc15f6b9650dcfe5cbee39f15e2fa61293bc77a03aecc732480e70fbf2a"


def test_sign_matches_openssl() -> None:
    assert sign(SECRET, SENT_AT, BODY) == EXPECTED
    assert signed_headers(SECRET, SENT_AT, BODY) == {
        "X-KAM-Timestamp": "1764234000", "X-KAM-Signature": EXPECTED,
    }


def test_verify_accepts_fresh_and_refuses_tampered_or_old() -> None:
    def check(**changes: object) -> bool:
        args: dict = {"timestamp": str(SENT_AT), "signature": EXPECTED, "body": BODY,
                      "now": SENT_AT + 10.0, **changes}
        return verify(SECRET, **args)

    assert check()
    assert not check(body=b'{"a":2}')
    assert not check(signature=EXPECTED[:-1] + "0")
    assert not check(timestamp=str(SENT_AT + 1))
    assert not check(now=SENT_AT + 301.0)
    assert not check(timestamp="yesterday")
    assert not verify(b"other", timestamp=str(SENT_AT), signature=EXPECTED, body=BODY,
                      now=SENT_AT)

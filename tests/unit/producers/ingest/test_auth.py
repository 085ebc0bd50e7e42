"""Bearer tokens: only hashes configured, the token decides the source system."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from producers.ingest import IngestConfigError, load_tokens, new_token, parse_tokens, token_hash


def test_token_hash_is_the_sha256_of_the_token() -> None:
    assert token_hash("s3cret") == "sha256:" + hashlib.sha256(b"s3cret").hexdigest()


def test_the_token_decides_the_source_system() -> None:
    crm, zendesk = new_token(), new_token()
    book = parse_tokens(f"crm {token_hash(crm)}\nzendesk {token_hash(zendesk)}", where="env")
    assert book.source_system(f"Bearer {crm}") == "crm"
    assert book.source_system(f"bearer {zendesk}") == "zendesk"
    assert book.source_system(f"Bearer {crm}x") is None
    assert book.source_system(f"Basic {crm}") is None
    assert book.source_system("Bearer ") is None
    assert book.source_system(None) is None


def test_only_hashes_are_kept() -> None:
    token = new_token()
    book = parse_tokens(f"crm {token_hash(token)}", where="env")
    assert token not in repr(book)
    assert book.entries == ((hashlib.sha256(token.encode()).digest(), "crm"),)


@pytest.mark.parametrize(
    "text",
    [
        "crm plain-token",  # a token, not its hash
        "crm sha256:abc",  # too short
        "sha256:" + "0" * 64,  # no source system
        f"{'x' * 129} sha256:{'0' * 64}",  # source system longer than an id may be
        f"crm sha256:{'0' * 64}; erp sha256:{'0' * 64}",  # one hash for two systems
    ],
)
def test_unusable_entries_are_refused(text: str) -> None:
    with pytest.raises(IngestConfigError):
        parse_tokens(text, where="KAM_INGEST_TOKENS")


def test_entries_from_the_environment_and_a_file_with_comments(tmp_path: Path) -> None:
    crm, erp = new_token(), new_token()
    path = tmp_path / "tokens"
    path.write_text(f"# ERP's token, rotated 2026-11\nerp {token_hash(erp)}  # ops\n\n")
    book = load_tokens(inline=f"crm {token_hash(crm)};", path=path)
    assert [book.source_system(f"Bearer {t}") for t in (crm, erp)] == ["crm", "erp"]


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestConfigError, match="KAM_INGEST_TOKENS_PATH"):
        load_tokens(inline=None, path=tmp_path / "absent")

"""What the deploy files may set: env names read by kam/settings.py or named by the routing file."""

from __future__ import annotations

import argparse
import os
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from kam import settings
from kam.cli import build_parser

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
KAM_PREFIXES = ("KAFKA_", "CLICKHOUSE_", "KAM_")
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = tuple(
    cls
    for cls in vars(settings).values()
    if isinstance(cls, type) and issubclass(cls, BaseSettings) and cls is not BaseSettings
)


def settings_env_names() -> frozenset[str]:
    """``<env_prefix><FIELD>`` of every settings class, e.g. ``KAFKA_BOOTSTRAP_SERVERS``."""
    return frozenset(
        f"{cls.model_config.get('env_prefix', '')}{field}".upper()
        for cls in SETTINGS_CLASSES
        for field in cls.model_fields
    )


def _env_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_env") and isinstance(value, str):
                yield value
            yield from _env_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _env_refs(item)


def routing_env_names() -> frozenset[str]:
    """Variables that config/routing.toml names for receiver URLs, keys and secrets."""
    return frozenset(_env_refs(tomllib.loads((REPO / "config" / "routing.toml").read_text())))


def unknown_kam_names(names: Iterator[str] | list[str] | set[str]) -> list[str]:
    """The KAFKA_/CLICKHOUSE_/KAM_ names that no settings field or routing entry reads."""
    known = settings_env_names() | routing_env_names()
    return sorted(name for name in names if name.startswith(KAM_PREFIXES) and name not in known)


def read_env_file(path: Path) -> dict[str, str]:
    """A compose ``KEY=VALUE`` env file; a git-ignored one is read from its ``.example``."""
    if not path.exists():
        path = path.with_name(path.name + ".example")
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def check_settings_values(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> None:
    """Build every settings class from ``env`` alone: a wrong value fails validation."""
    for name in list(os.environ):
        if name.startswith(KAM_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for cls in SETTINGS_CLASSES:
        cls()


def kam_subcommands() -> frozenset[str]:
    """Subcommands the ``kam`` console script knows today."""
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return frozenset(action.choices)
    return frozenset()


def check_kam_command(args: list[str]) -> None:
    """``kam <args>`` parses: the subcommand exists and takes these arguments."""
    known = kam_subcommands()
    if args[0] not in known:
        pytest.fail(f"`kam {args[0]}` is not a kam subcommand (known: {sorted(known)})")
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:  # argparse reports errors by exiting
        pytest.fail(f"`kam {' '.join(args)}` does not parse (exit {exc.code})")


def git_ignored(path: Path) -> bool:
    result = subprocess.run(
        ["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False, capture_output=True
    )
    return result.returncode == 0

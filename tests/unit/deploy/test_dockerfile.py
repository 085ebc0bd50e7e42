"""The root Dockerfile: slim Python 3.11, non-root, every package copied, settings it sets exist."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from tests.unit.deploy.settings_env import (
    KAM_PREFIXES,
    REPO,
    check_settings_values,
    load_yaml_documents,
    unknown_kam_names,
)

DOCKERFILE = (REPO / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def env_defaults() -> dict[str, str]:
    return dict(
        pair.split("=", 1) for args in instructions("ENV") for pair in args.split() if "=" in pair
    )


def test_base_user_and_entrypoint() -> None:
    assert instructions("FROM")[-1] == "python:3.11-slim"
    assert json.loads(instructions("ENTRYPOINT")[-1]) == ["kam"]
    (user,) = instructions("USER")
    uid = int(user.split(":")[0])
    assert uid != 0
    for path in (REPO / "deploy" / "k8s").glob("*.yaml"):
        for doc in load_yaml_documents(path):
            if doc.get("kind") in ("Deployment", "Job"):
                assert doc["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == uid


def test_every_package_of_the_distribution_is_copied() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in includes}
    copied = {args.split()[0] for args in instructions("COPY") if not args.startswith("--")}
    assert packages <= copied
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not packages & set(ignored)
    assert "config" in copied  # relative defaults such as config/routing.toml
    assert "config" not in ignored
    assert ".venv" in ignored


def test_env_defaults_are_settings_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    env = env_defaults()
    assert env["KAM_METRICS_HOST"] == "0.0.0.0"
    assert unknown_kam_names(set(env)) == []
    check_settings_values(monkeypatch, {k: v for k, v in env.items() if k.startswith(KAM_PREFIXES)})


def test_state_lives_under_the_declared_volume() -> None:
    (volume,) = json.loads(instructions("VOLUME")[0])
    env = env_defaults()
    assert env["KAM_WORKER_DATA_DIR"].startswith(volume + "/")
    assert env["CLICKHOUSE_CHDB_PATH"].startswith(volume + "/")
    assert instructions("EXPOSE") == [env["KAM_METRICS_PORT"]]

"""The curl examples of docs/wire-format.md, run as written against ``kam ingest``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from schemas import DeadLetter, parse_touchpoint
from tests.integration.conftest import Pipeline
from tests.integration.ingest import start_ingest

DOC = (Path(__file__).resolve().parents[2] / "docs" / "wire-format.md").read_text()
SECTION = DOC.split("## Over HTTP", 1)[1]
EXAMPLES = re.findall(r"```sh\n(.*?)\n```", SECTION, flags=re.DOTALL)
SECRETS = {"ZENDESK_SECRET": "zendesk-doc-secret", "STRIPE_SECRET": "whsec_doc_secret"}
MAPPING = """
[zendesk.organizations]
360001 = "acct-0002"
[stripe.customers]
cus_Q2w3e = "acct-0003"
"""


def _contains(answer: Any, documented: Any) -> bool:
    """Every key the documentation shows has the value it shows (lists element-wise)."""
    if isinstance(documented, dict):
        return isinstance(answer, dict) and all(
            key in answer and _contains(answer[key], value) for key, value in documented.items()
        )
    if isinstance(documented, list):
        return (
            isinstance(answer, list)
            and len(answer) == len(documented)
            and all(_contains(a, d) for a, d in zip(answer, documented, strict=True))
        )
    return bool(answer == documented)


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("openssl") is None,
    reason="needs curl and openssl",
)
def test_curl_examples_answer_as_documented(pipeline: Pipeline, tmp_path: Path) -> None:
    assert len(EXAMPLES) == 5
    mapping = tmp_path / "accounts.toml"
    mapping.write_text(MAPPING)
    ingest = start_ingest(
        pipeline,
        env={
            "KAM_INGEST_ZENDESK_SECRET": SECRETS["ZENDESK_SECRET"],
            "KAM_INGEST_STRIPE_SECRET": SECRETS["STRIPE_SECRET"],
            "KAM_INGEST_ACCOUNT_MAP_PATH": str(mapping),
        },
    )
    env = {**os.environ, "KAM_TOKEN": ingest.tokens["helpdesk"], **SECRETS}
    accepted = 0
    for example in EXAMPLES:
        script, _, expected = example.rpartition("\n# ")
        status, _, shown = expected.partition(" ")
        script = script.replace("127.0.0.1:8088", f"127.0.0.1:{ingest.port}")
        command = script.replace("curl -sS", "curl -sS -w '\\n%{http_code}'", 1)
        result = subprocess.run(
            ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60,
            check=True,
        )  # fmt: skip
        body, _, code = result.stdout.rpartition("\n")
        answer = json.loads(body)
        assert code == status, (example, result.stdout, result.stderr)
        assert _contains(answer, json.loads(shown)), (example, answer)
        accepted += answer["accepted"]
    assert accepted == 6
    stored = [parse_touchpoint(raw) for raw in pipeline.read_all(pipeline.topics.touchpoints)]
    assert sorted((e.source_system, e.account_id) for e in stored) == sorted(
        [("helpdesk", "acct-0002")] * 4 + [("zendesk", "acct-0002"), ("stripe", "acct-0003")]
    )
    letters = pipeline.read_all(pipeline.topics.deadletter)
    [letter] = [DeadLetter.model_validate_json(raw) for raw in letters]
    assert (letter.failure_type.value, letter.field_path) == ("schema_violation", "payload.score")
